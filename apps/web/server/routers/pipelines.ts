import { PipelineGraphSchema } from '@defectflow/nodes';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { engineerProcedure, found, viewerProcedure } from '../trpc.ts';

export const pipelinesRouter = {
  list: viewerProcedure
    .input(z.object({ productLineId: z.string().optional() }).optional())
    .query(({ ctx, input }) => ctx.repo.pipelines.list(input?.productLineId)),
  get: viewerProcedure
    .input(z.object({ id: z.string().min(1) }))
    .query(async ({ ctx, input }) => found(await ctx.repo.pipelines.get(input.id), 'pipeline', input.id)),
  /** Saves work in progress too: only the graph's shape is checked here; runs.start validates fully. */
  save: engineerProcedure
    .input(
      z.object({
        id: z.string().min(1).optional(),
        productLineId: z.string().min(1),
        name: z.string().trim().min(1).max(120),
        graph: PipelineGraphSchema,
        templateId: z.string().nullish(),
        templateVersionId: z.string().nullish(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      found(await ctx.repo.productLines.get(input.productLineId), 'product line', input.productLineId);
      const row = await ctx.repo.pipelines.save(input);
      return { id: row.id };
    }),
} satisfies TRPCRouterRecord;
