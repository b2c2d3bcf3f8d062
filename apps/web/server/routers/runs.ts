import { randomUUID } from 'node:crypto';
import type { Run } from '@defectflow/db';
import { type RunEvent, validateGraph } from '@defectflow/nodes';
import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { pinDatasetVersions } from '../datasets/versions.ts';
import { diffGraphs } from '../graph-diff.ts';
import { errorMessage } from '../log.ts';
import { found, publicProcedure } from '../trpc.ts';

const RunId = z.string().min(1);

type EpochEvent = Extract<RunEvent, { type: 'train.epoch' }>;

export const runsRouter = {
  /**
   * Validates the graph (per-node errors back to the editor), records the run with the exact graph and
   * queues it on the runner. A runner that refuses or cannot be reached leaves a failed row with the reason.
   */
  start: publicProcedure
    .input(z.object({ graph: z.unknown(), pipelineId: z.string().min(1).optional(), productLineId: z.string().min(1).optional() }))
    .mutation(async ({ ctx, input }) => {
      const validation = validateGraph(input.graph);
      if (!validation.ok || !validation.graph) return { ok: false as const, errors: validation.errors };
      validation.graph = await pinDatasetVersions(ctx.paths.datasetsRoot, validation.graph); // run states its dataset version
      let productLineId = input.productLineId ?? null;
      if (input.pipelineId) {
        const pipeline = found(await ctx.repo.pipelines.get(input.pipelineId), 'pipeline', input.pipelineId);
        productLineId ??= pipeline.productLineId;
      }
      if (productLineId) found(await ctx.repo.productLines.get(productLineId), 'product line', productLineId);
      const runId = randomUUID();
      const record = async () => {
        await ctx.repo.runs.create({ id: runId, pipelineId: input.pipelineId ?? null, productLineId, graph: validation.graph! });
      };
      let result: Awaited<ReturnType<typeof ctx.runner.startRun>>;
      try {
        result = await ctx.runner.startRun(runId, validation.graph, record);
      } catch (err) {
        if (!(await ctx.repo.runs.get(runId))) throw err; // the insert itself failed
        const reason = `The runner is unreachable: ${errorMessage(err)}`;
        await ctx.repo.runs.update(runId, { status: 'failed', error: reason, finishedAt: new Date() });
        throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: `Run ${runId} could not start. ${reason}` });
      }
      if (!result.accepted) {
        const reason = result.errors.map((e) => e.message).join('; ') || 'no reason given';
        await ctx.repo.runs.update(runId, { status: 'failed', error: `The runner refused the run: ${reason}`, finishedAt: new Date() });
        return { ok: false as const, runId, errors: result.errors };
      }
      return { ok: true as const, runId, position: result.position };
    }),

  cancel: publicProcedure.input(z.object({ runId: RunId })).mutation(async ({ ctx, input }) => {
    const run = found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
    if (run.status !== 'queued' && run.status !== 'running') return { cancelled: false, status: run.status };
    try {
      const { cancelled } = await ctx.runner.cancelRun(input.runId);
      return { cancelled, status: run.status };
    } catch (err) {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: `Could not reach the runner to cancel: ${errorMessage(err)}` });
    }
  }),

  list: publicProcedure
    .input(
      z
        .object({
          pipelineId: z.string().optional(),
          productLineId: z.string().optional(),
          limit: z.number().int().min(1).max(500).optional(),
        })
        .optional(),
    )
    // History rows poll every few seconds: leave out the graph and the per-image parts of the metrics.
    .query(async ({ ctx, input }) =>
      (await ctx.repo.runs.list(input ?? {})).map(({ graph: _graph, metrics, ...run }) => ({ ...run, metrics: headlineMetrics(metrics) })),
    ),

  get: publicProcedure
    .input(z.object({ runId: RunId }))
    .query(async ({ ctx, input }) => found(await ctx.repo.runs.get(input.runId), 'run', input.runId)),

  /** Persisted events with seq > since, in seq order. */
  events: publicProcedure
    .input(z.object({ runId: RunId, since: z.number().int().min(0).default(0) }))
    .query(async ({ ctx, input }) => {
      found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
      return ctx.repo.runEvents.list(input.runId, input.since);
    }),

  /**
   * Side by side: each run with its metrics and epoch history, and each run's param differences from
   * the first run (graphs compared node by node).
   */
  compare: publicProcedure
    .input(z.object({ runIds: z.array(RunId).min(1).max(8) }))
    .query(async ({ ctx, input }) => {
      const runs: Run[] = [];
      for (const id of input.runIds) runs.push(found(await ctx.repo.runs.get(id), 'run', id));
      const base = runs[0]!;
      const entries = [];
      for (const run of runs) {
        const events = await ctx.repo.runEvents.list(run.id, 0);
        const history = events
          .filter((e): e is EpochEvent => e.type === 'train.epoch')
          .map(({ nodeId, epoch, epochs, loss, acc, valLoss, valAcc, lr }) => ({ nodeId, epoch, epochs, loss, acc, valLoss, valAcc, lr }));
        entries.push({ run, history });
      }
      const paramDiffs = runs.slice(1).map((run) => {
        const d = diffGraphs(base.graph, run.graph);
        return {
          runId: run.id,
          baseRunId: base.id,
          changes: d.paramsChanged,
          nodesAdded: d.nodesAdded.map((n) => n.id),
          nodesRemoved: d.nodesRemoved.map((n) => n.id),
        };
      });
      return { runs: entries, paramDiffs };
    }),
} satisfies TRPCRouterRecord;

/** The numbers a history row shows; the full report stays behind runs.get. */
function headlineMetrics(metrics: unknown): Record<string, unknown> | null {
  if (!metrics || typeof metrics !== 'object') return null;
  const { accuracy, macroF1, classes, auroc, roc } = metrics as Record<string, unknown>;
  const rocAuroc = roc && typeof roc === 'object' ? (roc as { auroc?: unknown }).auroc : undefined;
  return { accuracy, macroF1, classes, auroc: auroc ?? rocAuroc };
}
