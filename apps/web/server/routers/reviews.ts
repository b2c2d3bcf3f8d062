/**
 * The review queue of a deployed model (reviews/): kept low-confidence and drifted images a person labels, discards
 * or skips; labelled ones become a dataset version; "retrain" reruns the model's graph on it. Viewers look,
 * engineers decide.
 */
import type { Model, PredictionRow } from '@defectflow/db';
import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { checkClassName } from '../datasets/versions.ts';
import { addLabelledToDataset } from '../reviews/add-labelled.ts';
import { retrainModel } from '../reviews/retrain.ts';
import type { SameSplitState } from '../reviews/same-split.ts';
import { trainingSource } from '../reviews/source.ts';
import { engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const ModelId = z.object({ modelId: z.string().min(1) });

function reviewItem(r: PredictionRow) {
  return {
    id: r.id,
    createdAt: r.createdAt,
    label: r.label,
    confidence: r.confidence,
    probabilities: r.probabilities,
    lowConfidence: r.lowConfidence,
    drift: r.drift,
    drifted: r.drifted,
    imageName: r.imageName,
    reviewedLabel: r.reviewedLabel,
    reviewedAt: r.reviewedAt,
    /** GET /api/predictions/<id>/image */
    imageUrl: `/api/predictions/${encodeURIComponent(r.id)}/image`,
  };
}

/** Accuracy and macro F1 of a model (its export metadata, else its run's evaluate metrics). */
function headline(raw: unknown): { accuracy: number | null; macroF1: number | null } {
  const m = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const inner = typeof m.accuracy !== 'number' && m.metrics && typeof m.metrics === 'object' ? (m.metrics as Record<string, unknown>) : m;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { accuracy: num(inner.accuracy), macroF1: num(inner.macroF1) };
}

function modelSummary(m: Model) {
  return { id: m.id, name: m.name, version: m.version, stage: m.stage, runId: m.runId, metrics: headline(m.metrics) };
}

export const reviewsRouter = {
  /** The next images waiting for review (oldest first), the model's classes and the counters. */
  queue: viewerProcedure
    .input(ModelId.extend({ limit: z.number().int().min(1).max(200).default(50) }))
    .query(async ({ ctx, input }) => {
      const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
      const [rows, stats] = await Promise.all([ctx.repo.predictions.reviewQueue(model.id, input.limit), ctx.repo.predictions.reviewStats(model.id)]);
      return { model: { id: model.id, name: model.name, labels: model.labels }, items: rows.map(reviewItem), stats };
    }),

  stats: viewerProcedure.input(ModelId).query(async ({ ctx, input }) => {
    found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
    return ctx.repo.predictions.reviewStats(input.modelId);
  }),

  /**
   * Labels one queued image (`label` null: discarded as "not a part / unusable"). Any class name is allowed (a new
   * defect type). Labelling again replaces the decision until the image was added to a dataset (CONFLICT then).
   */
  label: engineerProcedure
    .input(z.object({ predictionId: z.string().min(1), label: z.string().max(100).nullable() }))
    .mutation(async ({ ctx, input }) => {
      const row = found(await ctx.repo.predictions.get(input.predictionId), 'prediction', input.predictionId);
      if (row.imagePath === null || !(row.lowConfidence || row.drifted)) {
        throw new TRPCError({
          code: 'BAD_REQUEST',
          message: `Prediction ${row.id} is not in the review queue (only kept low-confidence or drifted images are reviewed)`,
        });
      }
      const label = input.label === null ? null : checkClassName(input.label);
      const by = ctx.principal.kind === 'user' ? ctx.principal.user.id : null; // AUTH off: no user row to point at
      const updated = await ctx.repo.predictions.review(row.id, label, by);
      if (!updated) {
        throw new TRPCError({
          code: 'CONFLICT',
          message: `Prediction ${row.id} was already added to dataset ${row.addedDataset} v${row.addedVersion}; its label can no longer change`,
        });
      }
      return { item: reviewItem(updated), stats: await ctx.repo.predictions.reviewStats(row.modelId) };
    }),

  /** "Add N labelled images to the dataset": the next version of the model's training dataset (reviews/add-labelled.ts). */
  addToDataset: engineerProcedure.input(ModelId).mutation(async ({ ctx, input }) => {
    const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
    const added = await addLabelledToDataset({ repo: ctx.repo, datasetsRoot: ctx.paths.datasetsRoot, predictionLog: ctx.predictionLog }, model);
    return { ...added, stats: await ctx.repo.predictions.reviewStats(model.id) };
  }),

  /** Where the model's images go: its run's dataset and the version it trained on. */
  source: viewerProcedure.input(ModelId).query(async ({ ctx, input }) => {
    const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
    try {
      const s = await trainingSource(ctx.repo, model);
      return { runId: s.run.id, dataset: s.dataset, version: s.version, unavailable: null };
    } catch (err) {
      return { runId: null, dataset: null, version: null, unavailable: (err as Error).message };
    }
  }),

  /** Starts the model's run's graph again on the dataset's latest version (reviews/retrain.ts). */
  retrain: engineerProcedure.input(ModelId).mutation(async ({ ctx, input }) => {
    const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
    const { result, dataset, version, previousVersion } = await retrainModel(
      { repo: ctx.repo, runner: ctx.runner, datasetsRoot: ctx.paths.datasetsRoot },
      model,
    );
    return result.ok
      ? { ok: true as const, runId: result.runId, dataset, version, previousVersion }
      : { ok: false as const, runId: result.runId, errors: result.errors, dataset, version, previousVersion };
  }),

  /**
   * A retrain run against the production model of the line (the reviewed model when the line has none, or once the
   * retrained model itself was promoted): the
   * run's status, the model it made, and, once the run succeeded, both models scored on the run's test split
   * (`sameSplit`: the production model run on exactly the images the run evaluated, reviews/same-split.ts; "scoring"
   * until done). Each model's own-run headline metrics stay for reference, with the run-comparison link.
   */
  comparison: viewerProcedure.input(ModelId.extend({ runId: z.string().min(1) })).query(async ({ ctx, input }) => {
    const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
    const run = found(await ctx.repo.runs.get(input.runId), 'run', input.runId);
    const [candidate] = await ctx.repo.models.listByRun(run.id);
    const current = (await ctx.repo.models.getProduction(model.productLineId)) ?? model;
    // Once the retrained model is promoted, the comparison stays against the model it replaced (the reviewed one).
    const production = candidate && current.id === candidate.id && model.id !== candidate.id ? model : current;
    const runs = [production.runId, run.id].filter((id): id is string => !!id);
    let sameSplit: (SameSplitState & { description: string }) | null = null;
    if (run.status === 'succeeded' && candidate && candidate.id !== production.id) {
      const state: SameSplitState = ctx.sameSplit
        ? await ctx.sameSplit.state(run, production)
        : { state: 'unavailable', reason: 'this server does not score models on a run\'s split' };
      const split = state.state === 'done' ? state.split : 'test';
      const images = state.state === 'unavailable' ? 0 : state.images;
      sameSplit = { ...state, description: `both scored on the ${images} ${split} images of run ${run.id}` };
    }
    return {
      run: { id: run.id, status: run.status, error: run.error },
      production: modelSummary(production),
      candidate: candidate ? modelSummary(candidate) : null,
      sameSplit,
      compareUrl: `/runs/compare?ids=${runs.map(encodeURIComponent).join(',')}`,
    };
  }),
} satisfies TRPCRouterRecord;
