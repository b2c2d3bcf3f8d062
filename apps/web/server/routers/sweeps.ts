/** Hyperparameter sweeps (server/sweeps/): start from the editor's document, watch, cancel, apply the best params. */
import { checkSweep, paramKey, type SweepSpec } from '@defectflow/nodes';
import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { pinDatasetVersions } from '../datasets/versions.ts';
import { resolveRunSource } from '../run-start.ts';
import { applyBest } from '../sweeps/apply-best.ts';
import { sweepListItem, sweepView } from '../sweeps/view.ts';
import { engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const SweepId = z.string().min(1);

/** "Steel line — train.learningRate, head.dropout" when the user gives no name. */
function defaultName(sourceName: string | null, spec: SweepSpec): string {
  const dims = spec.dimensions.map((d) => paramKey(d.nodeId, d.param)).join(', ');
  return `${sourceName ?? 'Pipeline'} — ${dims}`.slice(0, 120);
}

export const sweepsRouter = {
  /**
   * Checks the sweep against the document (every problem names its dimension, node and field; nothing is recorded
   * then), records it with the pipeline as started (dataset versions pinned) and starts its trials.
   */
  start: engineerProcedure
    .input(
      z.object({
        graph: z.unknown(),
        spec: z.unknown(),
        name: z.string().trim().max(120, 'a sweep name is at most 120 characters').optional(),
        pipelineId: z.string().min(1).optional(),
        productLineId: z.string().min(1).optional(),
        templateId: z.string().min(1).optional(),
        templateVersionId: z.string().min(1).optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const check = checkSweep(input.graph, input.spec);
      if (!check.ok) return { ok: false as const, problems: check.problems };
      const source = await resolveRunSource(ctx.repo, input);
      const graph = await pinDatasetVersions(ctx.paths.datasetsRoot, check.graph);
      const sweep = await ctx.sweeps.start({ name: input.name || defaultName(source.sourceName, check.spec), graph, spec: check.spec, source });
      return { ok: true as const, sweepId: sweep.id };
    }),

  get: viewerProcedure.input(z.object({ sweepId: SweepId })).query(async ({ ctx, input }) => {
    const sweep = found(await ctx.repo.sweeps.get(input.sweepId), 'sweep', input.sweepId);
    return sweepView(sweep, await ctx.repo.runs.listBySweeps([sweep.id]));
  }),

  /** Newest first. */
  list: viewerProcedure
    .input(z.object({ productLineId: z.string().min(1).optional(), limit: z.number().int().min(1).max(500).optional() }).optional())
    .query(async ({ ctx, input }) => {
      const sweeps = await ctx.repo.sweeps.list(input ?? {});
      const runs = await ctx.repo.runs.listBySweeps(sweeps.map((s) => s.id));
      return sweeps.map((s) => sweepListItem(s, runs.filter((r) => r.sweepId === s.id)));
    }),

  /** No new trials; its queued and running trial runs are cancelled (the status says cancelled once they ended). */
  cancel: engineerProcedure.input(z.object({ sweepId: SweepId })).mutation(async ({ ctx, input }) => {
    found(await ctx.repo.sweeps.get(input.sweepId), 'sweep', input.sweepId);
    await ctx.sweeps.cancel(input.sweepId);
    return { ok: true as const };
  }),

  /**
   * Writes a succeeded trial's params (default: the best trial's) into the sweep's pipeline, or as a new version of
   * its template when it was started from a template; BAD_REQUEST otherwise (the page offers to copy them).
   */
  applyBest: engineerProcedure
    .input(z.object({ sweepId: SweepId, trialIndex: z.number().int().min(0).optional() }))
    .mutation(async ({ ctx, input }) => {
      const sweep = found(await ctx.repo.sweeps.get(input.sweepId), 'sweep', input.sweepId);
      return applyBest(ctx.repo, sweep, input.trialIndex);
    }),
} satisfies TRPCRouterRecord;
