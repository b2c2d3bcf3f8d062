/** API tokens for the CLI and scripts (`Authorization: Bearer dft_…`): any signed-in user, own tokens only. */
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { viewerProcedure } from '../trpc.ts';

export const tokensRouter = {
  /** id, name, prefix, createdAt, lastUsedAt, expiresAt: never the token or its hash. */
  list: viewerProcedure.query(({ ctx }) => ctx.auth.listTokens(ctx.principal)),

  /** The full token is in this answer only: it is stored as a hash. */
  create: viewerProcedure
    .input(z.object({ name: z.string().trim().min(1, 'name must not be empty').max(100), expiresInDays: z.int().min(1).max(3650).optional() }))
    .mutation(({ ctx, input }) => ctx.auth.createToken(ctx.principal, input.name, input.expiresInDays)),

  revoke: viewerProcedure.input(z.object({ id: z.string().min(1).max(100) })).mutation(async ({ ctx, input }) => {
    await ctx.auth.revokeToken(ctx.principal, input.id);
    return { ok: true };
  }),
} satisfies TRPCRouterRecord;
