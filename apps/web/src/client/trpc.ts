'use client';
/** Typed tRPC for React: `const trpc = useTRPC(); useQuery(trpc.runs.list.queryOptions())`. */
import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '../../server/router.ts';

export type { AppRouter };
export type RouterInputs = inferRouterInputs<AppRouter>;
export type RouterOutputs = inferRouterOutputs<AppRouter>;

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();

/** Plain JSON (no transformer): dates arrive as ISO strings. */
export function createBrowserTRPCClient() {
  const origin = typeof window === 'undefined' ? 'http://localhost' : window.location.origin;
  return createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${origin}/api/trpc` })] });
}
