'use client';
/**
 * /settings/tokens — the signed-in user's API tokens for the CLI and scripts: create one (its value is
 * shown once), see when each was last used, revoke.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import './auth.css';
import { Field } from './Field.tsx';
import { copyText, when } from './format.ts';

const EXPIRY_CHOICES = [
  { days: 30, label: '30 days' },
  { days: 90, label: '90 days' },
  { days: 365, label: '1 year' },
  { days: 0, label: 'never' },
] as const;

function NewToken({ token, onDone }: { token: string; onDone: () => void }) {
  const [copied, setCopied] = useState<boolean | null>(null);
  const origin = typeof window === 'undefined' ? '' : window.location.origin;
  return (
    <section className="df-alert df-alert-info" data-testid="new-token" aria-live="polite">
      <strong>Your new token — copy it now: you will not see it again.</strong>
      <div className="df-secret">
        <code data-testid="new-token-value">{token}</code>
        <button type="button" className="df-btn df-btn-sm" onClick={async () => setCopied(await copyText(token))}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
      {copied === false ? <p className="df-small df-error">Could not copy: select the token and copy it by hand.</p> : null}
      <p className="df-small" style={{ margin: '0 0 4px' }}>
        Send it in the <code>Authorization</code> header; it acts as you, with your role. To try it:
      </p>
      <pre className="df-mono" style={{ margin: '0 0 8px', padding: '6px 10px', background: 'var(--df-surface)', border: '1px solid var(--df-border)', borderRadius: 6, wordBreak: 'break-all' }}>
        curl -H "Authorization: Bearer {token}" {origin}/api/trpc/auth.me
      </pre>
      <button type="button" className="df-btn df-btn-sm" onClick={onDone}>
        I have copied it
      </button>
    </section>
  );
}

export function TokensPage() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { authRequired, user, me } = useMe();
  const tokens = useQuery({ ...trpc.tokens.list.queryOptions(), enabled: authRequired && user !== null });
  const [name, setName] = useState('');
  const [days, setDays] = useState<number>(90);
  const [created, setCreated] = useState<string | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: trpc.tokens.list.queryKey() });
  const create = useMutation(
    trpc.tokens.create.mutationOptions({
      onSuccess: (r) => {
        setCreated(r.token);
        setName('');
        void refresh();
      },
    }),
  );
  const revoke = useMutation(trpc.tokens.revoke.mutationOptions({ onSuccess: () => void refresh() }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim()) create.mutate({ name: name.trim(), expiresInDays: days || undefined });
  };

  return (
    <div className="df-page" style={{ maxWidth: 960 }}>
      <div className="df-page-head">
        <h1>API tokens</h1>
      </div>
      {me && !authRequired ? (
        <div className="df-alert df-alert-info" data-testid="tokens-off">
          This server runs without accounts (AUTH=off): scripts and the CLI need no token. Tokens exist once accounts are on.
        </div>
      ) : (
        <>
          <p className="df-muted">
            Scripts and other programs call this server's API with a token instead of your password. A token acts as{' '}
            <strong>{user?.username ?? 'you'}</strong> with your role ({user?.role ?? '…'}) until it expires or you revoke it.
          </p>
          {created ? <NewToken token={created} onDone={() => setCreated(null)} /> : null}
          <form className="df-panel df-form-row" onSubmit={submit} aria-label="New API token" style={{ marginBottom: 16 }}>
            <Field
              id="token-name"
              label="Name"
              fieldStyle={{ flex: 1 }}
              placeholder="what uses it, e.g. line-3 nightly retrain"
              maxLength={80}
              value={name}
              onChange={(e) => setName(e.target.value)}
            />
            <div className="df-field">
              <label className="df-label" htmlFor="token-expiry">
                Expires after
              </label>
              <select id="token-expiry" className="df-select" value={days} onChange={(e) => setDays(Number(e.target.value))}>
                {EXPIRY_CHOICES.map((c) => (
                  <option key={c.days} value={c.days}>
                    {c.label}
                  </option>
                ))}
              </select>
            </div>
            <button className="df-btn df-btn-primary" type="submit" disabled={!name.trim() || create.isPending}>
              Create token
            </button>
            {create.error ? (
              <span className="df-error df-small" role="alert" style={{ flexBasis: '100%' }}>
                {create.error.message}
              </span>
            ) : null}
          </form>
          {tokens.error ? <div className="df-alert df-alert-error">Could not load your tokens: {tokens.error.message}</div> : null}
          {revoke.error ? <div className="df-alert df-alert-error">Could not revoke: {revoke.error.message}</div> : null}
          {tokens.data?.length === 0 ? <div className="df-empty">No tokens yet: create one above.</div> : null}
          {tokens.data && tokens.data.length > 0 ? (
            <div className="df-panel" style={{ padding: 0 }}>
              <table className="df-table" data-testid="token-list">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Token</th>
                    <th>Created</th>
                    <th>Last used</th>
                    <th>Expires</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {tokens.data.map((t) => (
                    <tr key={t.id} data-testid="token-row" data-name={t.name}>
                      <td>{t.name}</td>
                      <td className="df-mono">{t.prefix}…</td>
                      <td className="df-small">{when(t.createdAt)}</td>
                      <td className="df-small">{when(t.lastUsedAt, 'never')}</td>
                      <td className="df-small">{when(t.expiresAt, 'never')}</td>
                      <td style={{ textAlign: 'right' }}>
                        <button
                          type="button"
                          className="df-btn df-btn-sm df-btn-danger"
                          disabled={revoke.isPending}
                          onClick={() => {
                            if (window.confirm(`Revoke the token “${t.name}”? Scripts that use it are refused from now on.`)) {
                              revoke.mutate({ id: t.id });
                            }
                          }}
                        >
                          Revoke
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      )}
    </div>
  );
}
