import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const Name = z.string().trim().min(1, 'name must not be empty').max(120);

export const productLinesRouter = {
  list: viewerProcedure.query(({ ctx }) => ctx.repo.productLines.list()),
  get: viewerProcedure
    .input(z.object({ id: z.string().min(1) }))
    .query(async ({ ctx, input }) => found(await ctx.repo.productLines.get(input.id), 'product line', input.id)),
  create: engineerProcedure
    .input(z.object({ name: Name, description: z.string().max(2000).optional() }))
    .mutation(({ ctx, input }) => ctx.repo.productLines.create(input.name, input.description)),
  rename: engineerProcedure
    .input(z.object({ id: z.string().min(1), name: Name }))
    .mutation(({ ctx, input }) => ctx.repo.productLines.rename(input.id, input.name)),
} satisfies TRPCRouterRecord;
