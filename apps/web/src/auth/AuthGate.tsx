'use client';
/**
 * Signed out with accounts on (AUTH on): the page is replaced by a short note while the browser goes to
 * `/sign-in?next=<here>` (or `/setup` when no user exists yet). Without accounts it renders the page untouched.
 */
import { usePathname } from 'next/navigation';
import { type ReactNode, useEffect } from 'react';
import { useMe } from '../client/auth.ts';
import { isAuthPage, sendToSignIn } from '../client/sign-in-redirect.ts';

export function AuthGate({ children }: { children: ReactNode }) {
  const pathname = usePathname() ?? '/';
  const { me } = useMe();
  const signedOut = me?.authRequired === true && me.user === null && !isAuthPage(pathname);
  const needsSetup = me?.needsSetup === true;

  useEffect(() => {
    if (!signedOut) return;
    if (needsSetup) window.location.assign('/setup');
    else sendToSignIn();
  }, [signedOut, needsSetup]);

  if (signedOut) {
    return (
      <div className="df-page df-muted" data-testid="auth-redirect">
        {needsSetup ? 'No accounts yet: taking you to the setup page…' : 'Please sign in: taking you to the sign-in page…'}
      </div>
    );
  }
  return children;
}
