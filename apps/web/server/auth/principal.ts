/** Who is asking, and what each role may do. */
import type { UserRole } from '@defectflow/db';

export type Role = UserRole;

export const PASSWORD_MIN_LENGTH = 10;
/** Bounded so a megabyte "password" cannot keep the CPU busy hashing. */
export const PASSWORD_MAX_LENGTH = 256;
/** After lower-casing. */
export const USERNAME_PATTERN = /^[a-z0-9._-]{2,40}$/;

/** viewer < engineer < admin: each role can do everything the roles before it can. */
export const ROLE_ORDER: readonly Role[] = ['viewer', 'engineer', 'admin'];

export interface PrincipalUser {
  id: string;
  username: string;
  role: Role;
}

export type Principal =
  /** AUTH is off: every request is this implicit admin. */
  | { kind: 'local'; user: PrincipalUser }
  | {
      kind: 'user';
      user: PrincipalUser;
      via: 'session' | 'token';
      /** SHA-256 of the session cookie (via session). */
      sessionHash?: string;
      /** API token id (via token). */
      tokenId?: string;
    }
  | { kind: 'anonymous' };

export const LOCAL_PRINCIPAL: Principal = { kind: 'local', user: { id: 'local', username: 'local', role: 'admin' } };
export const ANONYMOUS: Principal = { kind: 'anonymous' };

export function hasRole(principal: Principal, needed: Role): boolean {
  if (principal.kind === 'anonymous') return false;
  return ROLE_ORDER.indexOf(principal.user.role) >= ROLE_ORDER.indexOf(needed);
}

/** Why a principal may not do something that needs `needed`: 401 (nobody signed in) or 403 (role too low). */
export function accessDenied(principal: Principal, needed: Role): { status: 401 | 403; message: string } | null {
  if (hasRole(principal, needed)) return null;
  if (principal.kind === 'anonymous') {
    return { status: 401, message: 'Sign in first: this needs a signed-in user (no session, or it expired)' };
  }
  const article = (r: string) => (r === 'admin' || r === 'engineer' ? 'an' : 'a');
  return { status: 403, message: `needs the ${needed} role; you are ${article(principal.user.role)} ${principal.user.role}` };
}
