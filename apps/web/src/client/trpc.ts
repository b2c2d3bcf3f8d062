'use client';
/** Typed tRPC for React: `const trpc = useTRPC(); useQuery(trpc.runs.list.queryOptions())`. */
import { createTRPCClient, httpBatchLink, TRPCClientError, type TRPCLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import { observable } from '@trpc/server/observable';
import type { AppRouter } from '../../server/router.ts';
import { sendToSignIn } from './sign-in-redirect.ts';

export type { AppRouter };
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** A signed-out request (no session, or it expired): the server answered UNAUTHORIZED. */
export function isUnauthorized(err: unknown): boolean {
  if (!(err instanceof TRPCClientError)) return false;
  const status = (err.meta?.response as { status?: number } | undefined)?.status;
  return err.data?.code === 'UNAUTHORIZED' || status === 401;
}

/** Refused for who the user is (signed out, or the wrong role): asking again will not help. */
export function isAccessError(err: unknown): boolean {
  return isUnauthorized(err) || (err instanceof TRPCClientError && err.data?.code === 'FORBIDDEN');
}

/** Procedures whose UNAUTHORIZED means "wrong password or code" (shown on the form), not "signed out". */
const CREDENTIAL_CHECKS = new Set(['auth.signIn', 'auth.setup', 'auth.changePassword']);

/** Every call that finds the user signed out sends the browser to `/sign-in?next=<here>`, in one place. */
const signInOnUnauthorized: TRPCLink<AppRouter> =
  () =>
  ({ op, next }) =>
    observable((observer) =>
      next(op).subscribe({
        next: (value) => observer.next(value),
        error: (err) => {
          if (isUnauthorized(err) && !CREDENTIAL_CHECKS.has(op.path)) sendToSignIn();
          observer.error(err);
        },
        complete: () => observer.complete(),
      }),
    );

/** Plain JSON (no transformer): dates arrive as ISO strings. */
export function createBrowserTRPCClient() {
  const origin = typeof window === 'undefined' ? 'http://localhost' : window.location.origin;
  return createTRPCClient<AppRouter>({ links: [signInOnUnauthorized, httpBatchLink({ url: `${origin}/api/trpc` })] });
}
