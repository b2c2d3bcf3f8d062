'use client';
/** Where signed-out browsers go, and back: plain functions (no React, no tRPC) so the tRPC link can use them. */

/** Pages that work signed out: nothing on them sends the browser to sign in. */
export const AUTH_PAGES = ['/sign-in', '/setup'] as const;

export function isAuthPage(pathname: string): boolean {
  return AUTH_PAGES.some((p) => pathname === p || pathname.startsWith(`${p}/`));
}

/**
 * Where to go after signing in: only a path on this site (`/…`, not `//host` or `/\host`), never back to
 * the sign-in or setup page.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next?.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  const path = next.split(/[?#]/)[0] ?? '/';
  return isAuthPage(path) ? '/' : next;
}

/** The sign-in URL that brings the user back to where they are now. */
export function signInUrl(): string {
  const here = `${window.location.pathname}${window.location.search}`;
  return here === '/' ? '/sign-in' : `/sign-in?next=${encodeURIComponent(here)}`;
}

let leaving = false;

/** Sends the browser to sign in (once, however many requests failed), unless it is on a sign-in/setup page. */
export function sendToSignIn(): void {
  if (typeof window === 'undefined' || leaving || isAuthPage(window.location.pathname)) return;
  leaving = true;
  setTimeout(() => {
    leaving = false; // a page restored from the back/forward cache may need to leave again
  }, 3_000);
  window.location.assign(signInUrl());
}
