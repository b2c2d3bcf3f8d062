'use client';
/** The signed-in user at the right of the top nav: name and role, API tokens, Users (admins), Sign out. Hidden without accounts. */
import { useMutation } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import './auth.css';

export function UserMenu() {
  const trpc = useTRPC();
  const { authRequired, user } = useMe();
  const [open, setOpen] = useState(false);
  const box = useRef<HTMLDivElement>(null);
  const signOut = useMutation(
    trpc.auth.signOut.mutationOptions({
      // A full load drops every cached query and the socket of the old session.
      onSettled: () => window.location.assign('/sign-in'),
    }),
  );

  useEffect(() => {
    if (!open) return;
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !box.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  if (!authRequired || !user) return null;
  return (
    <div className="df-user-menu" ref={box} data-testid="user-menu">
      <button
        type="button"
        className="df-user-button"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={() => setOpen((v) => !v)}
        title={`Signed in as ${user.username} (${user.role})`}
      >
        <span className="df-user-avatar" aria-hidden="true">
          {user.username.slice(0, 1)}
        </span>
        <span data-testid="user-name">{user.username}</span>
        <span className="df-role" data-testid="user-role">
          {user.role}
        </span>
        <span aria-hidden="true">▾</span>
      </button>
      {open ? (
        <div className="df-user-dropdown" role="menu">
          <div className="df-user-dropdown-head df-small df-muted">
            Signed in as <strong>{user.username}</strong> · {user.role}
          </div>
          <Link role="menuitem" href="/settings/tokens" onClick={() => setOpen(false)}>
            API tokens
          </Link>
          <Link role="menuitem" href="/settings/password" onClick={() => setOpen(false)}>
            Change password
          </Link>
          {user.role === 'admin' ? (
            <Link role="menuitem" href="/admin/users" onClick={() => setOpen(false)}>
              Users
            </Link>
          ) : null}
          <hr />
          <button type="button" role="menuitem" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
            {signOut.isPending ? 'Signing out…' : 'Sign out'}
          </button>
        </div>
      ) : null}
    </div>
  );
}
