'use client';
/** /sign-in?next=/path — username and password; on success a full load of `next` (a path on this site). */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { safeNext, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import './auth.css';
import { Field } from './Field.tsx';

export function SignIn() {
  const trpc = useTRPC();
  const next = safeNext(useSearchParams().get('next'));
  const { me } = useMe();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [missing, setMissing] = useState<string | null>(null);
  const passwordInput = useRef<HTMLInputElement>(null);
  const signIn = useMutation(
    trpc.auth.signIn.mutationOptions({
      // A full load: every query and the socket start again with the new session cookie.
      onSuccess: () => window.location.assign(next),
      onError: () => {
        setPassword('');
        passwordInput.current?.focus();
      },
    }),
  );

  useEffect(() => {
    if (me?.authRequired && me.needsSetup) window.location.replace('/setup');
  }, [me]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const empty = !username.trim() ? 'Enter your username' : !password ? 'Enter your password' : null;
    setMissing(empty);
    if (!empty) signIn.mutate({ username: username.trim(), password });
  };

  if (me && !me.authRequired) {
    return (
      <div className="df-auth-wrap">
        <section className="df-panel df-auth-card" data-testid="sign-in-off">
          <h1>No sign-in needed</h1>
          <p className="df-muted">
            This server runs without accounts (<code>AUTH=off</code>, it listens on this computer only): you use it as the local
            admin.
          </p>
          <Link className="df-btn df-btn-primary" href={next}>
            Open defectflow
          </Link>
        </section>
      </div>
    );
  }

  return (
    <div className="df-auth-wrap">
      <form className="df-panel df-auth-card" onSubmit={submit} aria-label="Sign in" data-testid="sign-in-form">
        <h1>Sign in to defectflow</h1>
        {me?.user ? (
          <p className="df-alert df-alert-info df-small">
            You are signed in as <strong>{me.user.username}</strong>. <Link href={next}>Continue</Link>, or sign in as someone
            else below.
          </p>
        ) : (
          <p className="df-muted df-small">Use the account your administrator gave you.</p>
        )}
        <Field
          id="sign-in-username"
          label="Username"
          autoComplete="username"
          autoCapitalize="none"
          spellCheck={false}
          // autoFocus: the page exists to take these two fields (biome's noAutofocus does not look into Field)
          autoFocus
          value={username}
          onChange={(e) => setUsername(e.target.value)}
        />
        <Field
          id="sign-in-password"
          label="Password"
          ref={passwordInput}
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        {(missing ?? signIn.error) ? (
          <p className="df-alert df-alert-error df-small" role="alert" data-testid="sign-in-error" style={{ margin: '12px 0 0' }}>
            {missing ?? signIn.error?.message}
          </p>
        ) : null}
        <button className="df-btn df-btn-primary" type="submit" disabled={signIn.isPending || signIn.isSuccess}>
          {signIn.isPending || signIn.isSuccess ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="df-auth-foot df-help">
          No account, or forgot the password? Ask an admin of this server: they add users and reset passwords under Users.
          Scripts call the API with an API token instead of a password.
        </p>
      </form>
    </div>
  );
}
