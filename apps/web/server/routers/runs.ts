import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { validateGraph } from '@defectflow/nodes';
import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { pinDatasetVersions } from '../datasets/versions.ts';
import { errorMessage } from '../log.ts';
import { nameDeployNodes } from '../model-names.ts';
import { modelDirInside, resolveInsideRoot } from '../paths.ts';
import { adminProcedure, engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const RunId = z.string().min(1);

/** The tRPC code of an error the runner answered with (a TRPCClientError carries it in `data`). */
function runnerErrorCode(err: unknown): string | undefined {
  return (err as { data?: { code?: unknown } } | null)?.data?.code as string | undefined;
}

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
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const validation = validateGraph(input.graph);
      if (!validation.ok || !validation.graph) return { ok: false as const, errors: validation.errors };
      validation.graph = await pinDatasetVersions(ctx.paths.datasetsRoot, validation.graph); // run states its dataset version
      let productLineId = input.productLineId ?? null;
      let templateId = input.templateId ?? null;
      let templateVersionId = input.templateVersionId ?? null;
      let sourceName: string | null = null;
      if (input.pipelineId) {
        const pipeline = found(await ctx.repo.pipelines.get(input.pipelineId), 'pipeline', input.pipelineId);
        productLineId ??= pipeline.productLineId;
        templateId ??= pipeline.templateId;
        templateVersionId ??= pipeline.templateVersionId;
        sourceName = pipeline.name;
      }
      if (templateId) {
        const template = found(await ctx.repo.templates.get(templateId), 'template', templateId);
        productLineId ??= template.productLineId;
        sourceName ??= template.name;
      }
      if (productLineId) found(await ctx.repo.productLines.get(productLineId), 'product line', productLineId);
      // A deploy node left at "defect-model" registers its model under the pipeline's (or template's) name.
      validation.graph = nameDeployNodes(validation.graph, sourceName);
      const runId = randomUUID();
      const record = async () => {
        await ctx.repo.runs.create({
          id: runId,
          pipelineId: input.pipelineId ?? null,
          productLineId,
          templateId,
          templateVersionId,
          graph: validation.graph!,
        });
      };
      let result: Awaited<ReturnType<typeof ctx.runner.startRun>>;
      try {
        result = await ctx.runner.startRun(runId, validation.graph, record);
      } catch (err) {
        if (!(await ctx.repo.runs.get(runId))) throw err; // the insert itself failed
        if (runnerErrorCode(err) === 'TOO_MANY_REQUESTS') {
          // The runner's queue is full (RUNNER_MAX_QUEUED): its message names the limit; the user may retry later.
          const reason = `The runner refused the run: ${errorMessage(err)}`;
          await ctx.repo.runs.update(runId, { status: 'failed', error: reason, finishedAt: new Date() });
          throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: `Run ${runId} could not start. ${reason}` });
        }
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
      await removeFolder(() => modelDirInside(ctx.paths.modelsDir, model));
      await ctx.predictionLog.forgetModel(model.id);
    }
    await ctx.repo.runs.remove(run.id);
    await removeFolder(() => resolveInsideRoot(ctx.paths.dataDir, `runs/${run.id}`));
    return { deleted: true, runId: run.id, events: run.lastSeq, models: models.map((m) => m.id) };
  }),

  list: viewerProcedure
    .input(
      z
        .object({
          pipelineId: z.string().optional(),
          productLineId: z.string().optional(),
          templateId: z.string().optional(),
          limit: z.number().int().min(1).max(500).optional(),
        })
        .optional(),
    )
    // History rows poll every few seconds: leave out the graph and the per-image parts of the metrics.
    // (The pipeline/template names come from pipelines.list and templates.list on the page.)
    .query(async ({ ctx, input }) =>
      (await ctx.repo.runs.list(input ?? {})).map(({ graph: _graph, metrics, ...run }) => ({ ...run, metrics: headlineMetrics(metrics) })),
    ),

  get: viewerProcedure
    .input(z.object({ runId: RunId }))
    .query(async ({ ctx, input }) => found(await ctx.repo.runs.get(input.runId), 'run', input.runId)),

  /** Persisted events with seq > since, in seq order. */
  events: viewerProcedure
    .input(z.object({ runId: RunId, since: z.number().int().min(0).default(0) }))
    .query(async ({ ctx, input }) => {
      found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
      return ctx.repo.runEvents.list(input.runId, input.since);
    }),
} satisfies TRPCRouterRecord;

/** Removes a folder the row pointed at; a path outside its root (a bad row) is left alone. */
async function removeFolder(resolve: () => string): Promise<void> {
  let dir: string;
  try {
    dir = resolve();
  } catch {
    return;
  }
  await rm(dir, { recursive: true, force: true });
}

/** The numbers a history row shows; the full report stays behind runs.get. */
function headlineMetrics(metrics: unknown): Record<string, unknown> | null {
  if (!metrics || typeof metrics !== 'object') return null;
  const { accuracy, macroF1, classes, auroc, roc } = metrics as Record<string, unknown>;
  const rocAuroc = roc && typeof roc === 'object' ? (roc as { auroc?: unknown }).auroc : undefined;
  return { accuracy, macroF1, classes, auroc: auroc ?? rocAuroc };
}
