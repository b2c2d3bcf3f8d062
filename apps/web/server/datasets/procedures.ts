/** tRPC procedures of the dataset page, spread into the datasets router (server/routers/datasets.ts). */
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { engineerProcedure, viewerProcedure } from '../trpc.ts';
import { inspectDataset } from './inspect.ts';
import { editDataset, ensureRegistered } from './versions.ts';

const Name = z.string().min(1).max(300);
const Ids = z.array(z.string().min(1).max(1000)).min(1).max(10_000);

export const datasetPageProcedures = {
  /** One version (0 = latest) with classes, counts, warnings and every item. */
  inspect: viewerProcedure
    .input(z.object({ name: Name, version: z.int().min(0).optional() }))
    .query(({ ctx, input }) => inspectDataset(ctx.paths.datasetsRoot, input.name, input.version ?? 0)),

  /** Version history, newest first (registers a dataset found on disk as version 1 on first look). */
  versions: viewerProcedure.input(z.object({ name: Name })).query(async ({ ctx, input }) => {
    await ensureRegistered(ctx.repo, ctx.paths.datasetsRoot, input.name);
    const dataset = await ctx.repo.datasets.getByName(input.name);
    if (!dataset) return [];
    const rows = await ctx.repo.datasets.versions(dataset.id);
    return rows.map((r) => {
      const m = r.manifest as { counts?: Record<string, number>; change?: unknown };
      return { version: r.version, message: r.message, createdAt: r.createdAt.toISOString(), counts: m.counts ?? {}, change: m.change ?? null };
    });
  }),

  /** Moves images to another (possibly new) class: creates the next version. */
  relabel: engineerProcedure
    .input(z.object({ name: Name, ids: Ids, to: z.string().min(1).max(100), message: z.string().max(500).optional() }))
    .mutation(async ({ ctx, input }) => {
      const result = await editDataset(ctx.repo, ctx.paths.datasetsRoot, input.name, { kind: 'relabel', ids: input.ids, to: input.to }, input.message);
      await ctx.datasetPublisher?.publishAfterChange(input.name); // cluster mode: runners see the new version
      return result;
    }),

  /** Leaves images out of the next version (files stay on disk for earlier versions). */
  remove: engineerProcedure
    .input(z.object({ name: Name, ids: Ids, message: z.string().max(500).optional() }))
    .mutation(async ({ ctx, input }) => {
      const result = await editDataset(ctx.repo, ctx.paths.datasetsRoot, input.name, { kind: 'delete', ids: input.ids }, input.message);
      await ctx.datasetPublisher?.publishAfterChange(input.name);
      return result;
    }),
} satisfies TRPCRouterRecord;
