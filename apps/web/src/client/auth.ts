'use client';
/**
 * Who is signed in (`auth.me`) and what the UI lets them do. The server decides every request;
 * these helpers only disable what would be refused, so a viewer is not offered buttons that fail.
 */
import { useQuery } from '@tanstack/react-query';
import { type RouterOutputs, useTRPC } from './trpc.ts';

export { isAuthPage, safeNext, sendToSignIn } from './sign-in-redirect.ts';

export type Me = RouterOutputs['auth']['me'];
export type Role = 'viewer' | 'engineer' | 'admin';

/** The tooltip on every engineer action a viewer sees disabled. */
export const NEEDS_ENGINEER = 'needs the engineer role';
export const NEEDS_ADMIN = 'needs the admin role';

export const ROLES: ReadonlyArray<{ role: Role; help: string }> = [
  { role: 'viewer', help: 'watches runs, reads reports, datasets and models' },
  { role: 'engineer', help: 'also edits pipelines, starts and cancels runs, uploads datasets, predicts' },
  { role: 'admin', help: 'also manages users, deletes and renames datasets and models' },
];

/**
 * May this user change things (pipelines, runs, uploads, predictions)? Without accounts (AUTH off) everyone
 * may; while `auth.me` is still loading the UI stays as it was, the server refuses anything not allowed.
 */
export function canEdit(me: Me | undefined): boolean {
  if (!me?.authRequired) return true;
  return me.user?.role === 'engineer' || me.user?.role === 'admin';
}

/** May this user manage users and delete datasets/models? */
export function isAdmin(me: Me | undefined): boolean {
  if (!me?.authRequired) return true;
  return me.user?.role === 'admin';
}

/** `auth.me` plus the role helpers; one cached query shared by every component. */
export function useMe() {
  const trpc = useTRPC();
  const query = useQuery({ ...trpc.auth.me.queryOptions(), staleTime: 60_000 });
  const me = query.data;
  return {
    me,
    isLoading: query.isPending,
    error: query.error,
    authRequired: me?.authRequired ?? false,
    user: me?.user ?? null,
    canEdit: canEdit(me),
    isAdmin: isAdmin(me),
  };
}
