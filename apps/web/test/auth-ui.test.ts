/**
 * The browser's account helpers: where sign-in sends the user afterwards (never off this site, never back to
 * sign-in), which pages are exempt from the sign-in redirect, and what each role may do in the UI.
 */
import { describe, expect, it } from 'vitest';
import { passwordProblem, usernameProblem } from '../src/auth/credentials.ts';
import { canEdit, isAdmin, type Me } from '../src/client/auth.ts';
import { isAuthPage, safeNext } from '../src/client/sign-in-redirect.ts';

const me = (role: 'viewer' | 'engineer' | 'admin' | null, authRequired = true): Me =>
  ({ authRequired, needsSetup: false, user: role ? { id: 'u1', username: 'x', role } : null }) as Me;

describe('safeNext', () => {
  it('keeps a path on this site with its query', () => {
    expect(safeNext('/runs/abc?tab=report')).toBe('/runs/abc?tab=report');
    expect(safeNext('/editor?template=t1&version=v2')).toBe('/editor?template=t1&version=v2');
  });

  it('refuses anything that could leave the site, and falls back to /', () => {
    for (const bad of ['https://evil.example/', '//evil.example/x', '/\\evil.example', 'javascript:alert(1)', 'runs', '', null, undefined]) {
      expect(safeNext(bad), String(bad)).toBe('/');
    }
  });

  it('never returns to the sign-in or setup page', () => {
    expect(safeNext('/sign-in?next=/runs')).toBe('/');
    expect(safeNext('/setup')).toBe('/');
    expect(safeNext('/sign-in-help')).toBe('/sign-in-help');
  });
});

describe('isAuthPage', () => {
  it('is true only for /sign-in and /setup (and below)', () => {
    expect(isAuthPage('/sign-in')).toBe(true);
    expect(isAuthPage('/setup')).toBe(true);
    expect(isAuthPage('/settings/tokens')).toBe(false);
    expect(isAuthPage('/')).toBe(false);
  });
});

describe('role helpers', () => {
  it('lets engineers and admins edit, not viewers or the signed-out', () => {
    expect(canEdit(me('viewer'))).toBe(false);
    expect(canEdit(me(null))).toBe(false);
    expect(canEdit(me('engineer'))).toBe(true);
    expect(canEdit(me('admin'))).toBe(true);
    expect(isAdmin(me('engineer'))).toBe(false);
    expect(isAdmin(me('admin'))).toBe(true);
  });

  it('changes nothing without accounts (AUTH off) or before auth.me answered', () => {
    expect(canEdit(me('admin', false))).toBe(true);
    expect(isAdmin(me(null, false))).toBe(true);
    expect(canEdit(undefined)).toBe(true);
  });
});

describe('credential checks in the forms', () => {
  it('names what is wrong with a username or a new password', () => {
    expect(usernameProblem('Anna.B')).toBeNull(); // lower-cased like the server does
    expect(usernameProblem('a')).toMatch(/2–40 characters/);
    expect(usernameProblem('anna smith')).toMatch(/lower-case letters/);
    expect(passwordProblem('short')).toBe('Password: at least 10 characters (5 so far)');
    expect(passwordProblem('long-enough-1', 'long-enough-2')).toBe('The two passwords differ');
    expect(passwordProblem('long-enough-1', 'long-enough-1')).toBeNull();
  });
});
