'use client';
/**
 * /setup — the first admin account, while the server has no users: the one-time setup code from the
 * server's log, a username and the password twice. Signs in and opens the home page.
 */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { type FormEvent, useState } from 'react';
import { useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import './auth.css';
import { passwordProblem, USERNAME_RULE, usernameProblem } from './credentials.ts';
import { Field } from './Field.tsx';
import { NewPasswordFields } from './NewPasswordFields.tsx';

export function Setup() {
  const trpc = useTRPC();
  const { me } = useMe();
  const [setupCode, setSetupCode] = useState('');
  const [username, setUsername] = useState('admin');
  const [password, setPassword] = useState('');
  const [repeated, setRepeated] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const setup = useMutation(trpc.auth.setup.mutationOptions({ onSuccess: () => window.location.assign('/') }));

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found = (setupCode.trim() ? null : 'Setup code is empty') ?? usernameProblem(username) ?? passwordProblem(password, repeated);
    setProblem(found);
    if (!found) setup.mutate({ setupCode: setupCode.trim(), username: username.trim().toLowerCase(), password });
  };

  if (me && (!me.authRequired || !me.needsSetup)) {
    return (
      <div className="df-auth-wrap">
        <section className="df-panel df-auth-card" data-testid="setup-done">
          <h1>Already set up</h1>
          <p className="df-muted">
            {me.authRequired
              ? 'This server has its first admin. Sign in with your account; an admin adds more users under Users.'
              : 'This server runs without accounts (AUTH=off): there is nothing to set up.'}
          </p>
          <Link className="df-btn df-btn-primary" href={me.authRequired && !me.user ? '/sign-in' : '/'}>
            {me.authRequired && !me.user ? 'Sign in' : 'Open defectflow'}
          </Link>
        </section>
      </div>
    );
  }

  const error = problem ?? setup.error?.message ?? null;
  return (
    <div className="df-auth-wrap">
      <form className="df-panel df-auth-card" onSubmit={submit} aria-label="Create the first admin" data-testid="setup-form">
        <h1>Create the first admin</h1>
        <p className="df-muted df-small">
          This server has no accounts yet. The setup code is printed in the server's log (the line <code>setup code: …</code>); it
          works once, until the first admin exists.
        </p>
        <Field
          id="setup-code"
          label="Setup code"
          inputClassName="df-mono"
          autoComplete="one-time-code"
          spellCheck={false}
          // autoFocus: the first thing this page asks for (biome's noAutofocus does not look into Field)
          autoFocus
          value={setupCode}
          onChange={(e) => setSetupCode(e.target.value)}
        />
        <Field
          id="setup-username"
          label="Admin username"
          help={USERNAME_RULE}
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <NewPasswordFields
          id="setup-password"
          againId="setup-password-again"
          label="Password"
          password={password}
          repeated={repeated}
          onPassword={setPassword}
          onRepeated={setRepeated}
        />
        {error ? (
          <p className="df-alert df-alert-error df-small" role="alert" data-testid="setup-error" style={{ margin: '12px 0 0' }}>
            {error}
          </p>
        ) : null}
        <button className="df-btn df-btn-primary" type="submit" disabled={setup.isPending || setup.isSuccess}>
          {setup.isPending || setup.isSuccess ? 'Creating…' : 'Create admin and sign in'}
        </button>
      </form>
    </div>
  );
}
