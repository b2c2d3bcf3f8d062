import { validateGraph } from '@defectflow/nodes';
import { checkPrefix } from '@defectflow/storage';
import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { pinDatasetVersions } from '../datasets/versions.ts';
import { errorMessage } from '../log.ts';
import { nameDeployNodes } from '../model-names.ts';
import { resolveRunSource, submitRun } from '../run-start.ts';
import { modelKeyPrefix, storeOf } from '../storage.ts';
import { adminProcedure, engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const RunId = z.string().min(1);

export const runsRouter = {
  /**
   * Validates the graph (per-node errors back to the editor), records the run with the exact graph and
   * queues it on the runner. A runner that refuses or cannot be reached leaves a failed row with the reason.
   */
  start: engineerProcedure
    .input(
      z.object({
        graph: z.unknown(),
        pipelineId: z.string().min(1).optional(),
        productLineId: z.string().min(1).optional(),
        /** The template (version) the editor's document comes from, when it is the template itself or is linked to one. */
        templateId: z.string().min(1).optional(),
        templateVersionId: z.string().min(1).optional(),
        /** Cluster mode (REDIS_URL): place in the shared queue, a GPU runner, one retry when the runner dies. */
        priority: z.enum(['high', 'normal', 'low']).optional(),
        requires: z.array(z.literal('gpu')).max(1).optional(),
        retryOnLoss: z.boolean().optional(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const validation = validateGraph(input.graph);
      if (!validation.ok || !validation.graph) return { ok: false as const, errors: validation.errors };
      const pinned = await pinDatasetVersions(ctx.paths.datasetsRoot, validation.graph); // run states its dataset version
      const source = await resolveRunSource(ctx.repo, input);
      // A deploy node left at "defect-model" registers its model under the pipeline's (or template's) name.
      const graph = nameDeployNodes(pinned, source.sourceName);
      const { priority, requires, retryOnLoss } = input;
      const result = await submitRun(ctx, { graph, source, queue: { priority, requires, retryOnLoss } });
      return result.ok
        ? { ok: true as const, runId: result.runId, position: result.position }
        : { ok: false as const, runId: result.runId, errors: result.errors };
    }),

  cancel: engineerProcedure.input(z.object({ runId: RunId })).mutation(async ({ ctx, input }) => {
    const run = found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
    if (run.status !== 'queued' && run.status !== 'running') return { cancelled: false, status: run.status };
    try {
      const { cancelled } = await ctx.runner.cancelRun(input.runId);
      return { cancelled, status: run.status };
    } catch (err) {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: `Could not reach the runner to cancel: ${errorMessage(err)}` });
    }
  }),

  /** A name and notes for a run (null or '' clears them). */
  update: engineerProcedure
    .input(
      z.object({
        runId: RunId,
        name: z.string().trim().max(120, 'a run name is at most 120 characters').nullish(),
        notes: z.string().max(5000, 'run notes are at most 5000 characters').nullish(),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const patch: { name?: string | null; notes?: string | null } = {};
      if (input.name !== undefined) patch.name = input.name || null;
      if (input.notes !== undefined) patch.notes = input.notes?.trim() ? input.notes : null;
      return ctx.repo.runs.update(input.runId, patch); // NotFoundError → NOT_FOUND naming the run
    }),

  /** Where a run came from and what it made: its pipeline or template (version), product line, dataset versions, models. */
  links: viewerProcedure.input(z.object({ runId: RunId })).query(async ({ ctx, input }) => {
    const run = found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
    const pipeline = run.pipelineId ? await ctx.repo.pipelines.get(run.pipelineId) : null;
    const template = run.templateId ? await ctx.repo.templates.get(run.templateId) : null;
    const templateVersion = run.templateVersionId ? await ctx.repo.templates.getVersion(run.templateVersionId) : null;
    const productLine = run.productLineId ? await ctx.repo.productLines.get(run.productLineId) : null;
    const models = await ctx.repo.models.listByRun(run.id);
    // The dataset nodes' folders and the versions they were pinned to when the run started.
    const datasets = run.graph.nodes
      .filter((n) => n.type === 'dataset' && typeof n.params.path === 'string')
      .map((n) => ({ nodeId: n.id, name: String(n.params.path), version: typeof n.params.version === 'number' ? n.params.version : null }));
    return {
      pipeline: pipeline ? { id: pipeline.id, name: pipeline.name } : null,
      template: template
        ? { id: template.id, name: template.name, versionId: templateVersion?.id ?? null, version: templateVersion?.version ?? null }
        : null,
      productLine: productLine ? { id: productLine.id, name: productLine.name } : null,
      datasets,
      models: models.map((m) => ({ id: m.id, name: m.name, version: m.version, stage: m.stage, active: m.stage === 'production' })),
    };
  }),

  /** What deleting a run takes with it: its events and the models it deployed. */
  deletion: viewerProcedure.input(z.object({ runId: RunId })).query(async ({ ctx, input }) => {
    const run = found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
    const models = await ctx.repo.models.listByRun(run.id);
    return {
      runId: run.id,
      finished: run.status !== 'queued' && run.status !== 'running',
      events: run.lastSeq,
      models: models.map((m) => ({ id: m.id, name: m.name, version: m.version, stage: m.stage, active: m.stage === 'production' })),
    };
  }),

  /**
   * Deletes a finished run: its row, its events (cascade), the models it deployed (rows and folders) and its
   * folder under DATA_DIR/runs. A queued or running run must be cancelled first.
   */
  delete: adminProcedure.input(z.object({ runId: RunId })).mutation(async ({ ctx, input }) => {
    const run = found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
    if (run.status === 'queued' || run.status === 'running') {
      throw new TRPCError({ code: 'CONFLICT', message: `Run ${run.id} is ${run.status}: cancel it before deleting it` });
    }
    const models = await ctx.repo.models.listByRun(run.id);
    for (const model of models) {
      await ctx.repo.models.remove(model.id); // its prediction log rows go with it (cascade)
      await removePrefix(ctx, () => modelKeyPrefix(ctx.paths.modelsDir, model));
      await ctx.predictionLog.forgetModel(model.id);
      ctx.alarms?.forget(model.id);
    }
    await ctx.repo.runs.remove(run.id);
    await removePrefix(ctx, () => checkPrefix(`runs/${run.id}/`));
    return { deleted: true, runId: run.id, events: run.lastSeq, models: models.map((m) => m.id) };
  }),

  list: viewerProcedure
    .input(
      z
        .object({
          pipelineId: z.string().optional(),
          productLineId: z.string().optional(),
          templateId: z.string().optional(),
          /** Sweep trials and final runs are listed on their sweep's page; true lists them here too. */
          includeSweepRuns: z.boolean().optional(),
          limit: z.number().int().min(1).max(500).optional(),
        })
        .optional(),
    )
    // History rows poll every few seconds: leave out the graph and the per-image parts of the metrics.
    // (The pipeline/template names come from pipelines.list and templates.list on the page.)
    .query(async ({ ctx, input }) =>
      (await ctx.repo.runs.list(input ?? {})).map(({ graph: _graph, metrics, ...run }) => ({ ...run, metrics: headlineMetrics(metrics) })),
    ),

  /** The run's row, and the sweep it is a trial (or the final run) of: "trial N of sweep <name>" on its page. */
  get: viewerProcedure.input(z.object({ runId: RunId })).query(async ({ ctx, input }) => {
    const run = found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
    const sweepRow = run.sweepId ? await ctx.repo.sweeps.get(run.sweepId) : null;
    const sweep =
      sweepRow && run.sweepTrial
        ? { id: sweepRow.id, name: sweepRow.name, role: run.sweepTrial.role, index: run.sweepTrial.index }
        : null;
    return { ...run, sweep };
  }),

  /** Persisted events with seq > since, in seq order. */
  events: viewerProcedure
    .input(z.object({ runId: RunId, since: z.number().int().min(0).default(0) }))
    .query(async ({ ctx, input }) => {
      found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
      return ctx.repo.runEvents.list(input.runId, input.since);
    }),
} satisfies TRPCRouterRecord;

/** Removes a folder the row pointed at; a path outside its root (a bad row) is left alone. */
/** Deletes a model's or run's stored files; a prefix that cannot be formed (a row outside the models dir) touches nothing. */
async function removePrefix(ctx: Parameters<typeof storeOf>[0], prefix: () => string): Promise<void> {
  let p: string;
  try {
    p = prefix();
  } catch {
    return;
  }
  await storeOf(ctx).deletePrefix(p);
}

/** The numbers a history row shows; the full report stays behind runs.get. */
function headlineMetrics(metrics: unknown): Record<string, unknown> | null {
  if (!metrics || typeof metrics !== 'object') return null;
  const { accuracy, macroF1, classes, auroc, roc } = metrics as Record<string, unknown>;
  const rocAuroc = roc && typeof roc === 'object' ? (roc as { auroc?: unknown }).auroc : undefined;
  return { accuracy, macroF1, classes, auroc: auroc ?? rocAuroc };
}
