'use client';
/** /settings/password — the signed-in user changes their own password (current one, new one twice). */
import { useMutation } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import './auth.css';
import { passwordProblem } from './credentials.ts';
import { Field } from './Field.tsx';
import { NewPasswordFields } from './NewPasswordFields.tsx';

export function ChangePassword() {
  const trpc = useTRPC();
  const { me, authRequired, user } = useMe();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeated, setRepeated] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const change = useMutation(
    trpc.auth.changePassword.mutationOptions({
      onSuccess: () => {
        setCurrent('');
        setNext('');
        setRepeated('');
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const found = (current ? null : 'Current password is empty') ?? passwordProblem(next, repeated);
    setProblem(found);
    if (!found) change.mutate({ currentPassword: current, newPassword: next });
  };

  if (me && !authRequired) {
    return (
      <div className="df-page">
        <div className="df-alert df-alert-info">This server runs without accounts (AUTH=off): there is no password to change.</div>
      </div>
    );
  }
  const error = problem ?? change.error?.message ?? null;
  return (
    <div className="df-auth-wrap">
      <form className="df-panel df-auth-card" onSubmit={submit} aria-label="Change password">
        <h1>Change password</h1>
        <p className="df-muted df-small">For {user?.username ?? 'your account'}. Your other browser sessions are signed out; API tokens keep working.</p>
        <Field
          id="password-current"
          label="Current password"
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(e) => setCurrent(e.target.value)}
        />
        <NewPasswordFields
          id="password-new"
          againId="password-again"
          label="New password"
          password={next}
          repeated={repeated}
          onPassword={setNext}
          onRepeated={setRepeated}
        />
        {error ? (
          <p className="df-alert df-alert-error df-small" role="alert" style={{ margin: '12px 0 0' }}>
            {error}
          </p>
        ) : null}
        {change.isSuccess ? (
          <p className="df-alert df-alert-info df-small" role="status" style={{ margin: '12px 0 0' }}>
            Password changed. Other sessions were signed out.
          </p>
        ) : null}
        <button className="df-btn df-btn-primary" type="submit" disabled={change.isPending}>
          Change password
        </button>
      </form>
    </div>
  );
}
