import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Model } from '@defectflow/db';
import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { runImageFile } from '../http-files.ts';
import { errorMessage } from '../log.ts';
import { modelDirInside } from '../paths.ts';
import { PredictBusyError, PredictInputError, PredictUnavailableError } from '../predict.ts';
import { predictAndLog } from '../predictions/service.ts';
import { modelKeyPrefix, storeOf } from '../storage.ts';
import { adminProcedure, engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const ModelName = z
  .string()
  .trim()
  .min(1, 'a model name must not be empty')
  .max(120, 'a model name is at most 120 characters');

/** A model row as clients get it; `active` (= in production) is the former flag, kept for API clients. */
function modelView(m: Model) {
  return { ...m, active: m.stage === 'production' };
}

export const modelsRouter = {
  list: viewerProcedure
    .input(z.object({ productLineId: z.string().optional() }).optional())
    .query(async ({ ctx, input }) => (await ctx.repo.models.list(input?.productLineId)).map(modelView)),

  get: viewerProcedure
    .input(z.object({ id: z.string().min(1) }))
    .query(async ({ ctx, input }) => modelView(found(await ctx.repo.models.get(input.id), 'model', input.id))),

  /** A product line's production model and what a rollback would restore (null when nothing). */
  line: viewerProcedure.input(z.object({ productLineId: z.string().min(1).nullable() })).query(async ({ ctx, input }) => {
    const [production, rollbackTo] = await Promise.all([
      ctx.repo.models.getProduction(input.productLineId),
      ctx.repo.models.rollbackTarget(input.productLineId),
    ]);
    return { production: production ? modelView(production) : null, rollbackTo: rollbackTo ? modelView(rollbackTo) : null };
  }),

  /** Puts a model in production for its product line; the production model it replaces is archived (rollback restores it). */
  promote: engineerProcedure.input(z.object({ id: z.string().min(1) })).mutation(async ({ ctx, input }) => {
    const { model, replaced } = await ctx.repo.models.promote(input.id); // NotFoundError → NOT_FOUND
    return { model: modelView(model), replaced: replaced ? modelView(replaced) : null };
  }),

  /** Restores the line's previous production model; the current one goes back to staging. CONFLICT when there is none. */
  rollback: engineerProcedure.input(z.object({ productLineId: z.string().min(1).nullable() })).mutation(async ({ ctx, input }) => {
    const { model, replaced } = await ctx.repo.models.rollback(input.productLineId); // ConflictError → CONFLICT
    return { model: modelView(model), replaced: replaced ? modelView(replaced) : null };
  }),

  /** Moves a model to staging or archived by hand (production: promote). */
  setStage: engineerProcedure
    .input(z.object({ id: z.string().min(1), stage: z.enum(['staging', 'archived']) }))
    .mutation(async ({ ctx, input }) => modelView(await ctx.repo.models.setStage(input.id, input.stage))),

  /** Renaming is for admins, like deleting (the roles' rule for models and datasets). */
  rename: adminProcedure
    .input(z.object({ id: z.string().min(1), name: ModelName }))
    .mutation(({ ctx, input }) => ctx.repo.models.rename(input.id, input.name)), // NotFoundError → NOT_FOUND

  /** The former "active model" switch: `true` promotes, `false` takes a production model back to staging. */
  setActive: engineerProcedure
    .input(z.object({ id: z.string().min(1), active: z.boolean().default(true) }))
    .mutation(async ({ ctx, input }) => modelView(await ctx.repo.models.setActive(input.id, input.active))),

  /** Deletes the model's row and its exported folder; the run that made it stays. */
  delete: adminProcedure.input(z.object({ id: z.string().min(1) })).mutation(async ({ ctx, input }) => {
    const model = found(await ctx.repo.models.get(input.id), 'model', input.id);
    let prefix: string | null = null;
    try {
      prefix = modelKeyPrefix(ctx.paths.modelsDir, model);
    } catch {
      prefix = null; // a row pointing outside the models dir: drop the row, touch no files
    }
    await ctx.repo.models.remove(model.id); // its prediction log rows go with it (cascade)
    if (prefix) await storeOf(ctx).deletePrefix(prefix);
    await ctx.predictionLog.forgetModel(model.id);
    ctx.alarms?.forget(model.id);
    return { deleted: true, id: model.id };
  }),

  /**
   * Classifies uploaded images with a deployed model (the exported folder, loaded by the engine in the runner's
   * prediction worker). Each image gets its prediction or its own error; limits: count and bytes in predict.ts,
   * the queue in the runner (busy → TOO_MANY_REQUESTS); a runner that is not reachable → SERVICE_UNAVAILABLE.
   * Answered images go to the prediction log (source 'ui').
   */
  predict: engineerProcedure
    .input(
      z.object({
        modelId: z.string().min(1),
        images: z
          .array(z.object({ name: z.string().min(1).max(255), dataBase64: z.string().min(1) }))
          .min(1, 'send at least one image'),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
      // Outside the models dir: PathOutsideRootError, a BAD_REQUEST naming the model (mapErrors).
      modelDirInside(ctx.paths.modelsDir, model);
      // Empty or non-base64 data decodes to nothing: that file's own error, not the request's.
      const images = input.images.map((img) => ({ name: img.name, data: Buffer.from(img.dataBase64.replace(/^data:[^,]*,/, ''), 'base64') }));
      const tokenId = ctx.principal.kind === 'user' ? (ctx.principal.tokenId ?? null) : null;
      try {
        const { predictions } = await predictAndLog(
          { predict: ctx.predict, predictionLog: ctx.predictionLog, modelsDir: ctx.paths.modelsDir },
          model,
          images,
          { source: 'ui', tokenId },
        );
        return { modelId: model.id, labels: model.labels, predictions };
      } catch (err) {
        throw predictError(model.id, err);
      }
    }),

  /**
   * "Where the head looked" for one evaluation image of a run (the enlarged thumbnail): the run's deployed model
   * predicts the image in the prediction worker and adds its class activation map. No model, or a head without a
   * map, answers `unavailable` in words.
   */
  heatmap: viewerProcedure
    .input(z.object({ runId: z.string().min(1), itemId: z.string().min(1).max(1000) }))
    .query(async ({ ctx, input }) => {
      const [model] = await ctx.repo.models.listByRun(input.runId);
      if (!model) return { unavailable: 'this run deployed no model to draw the map with' };
      const dir = modelDirInside(ctx.paths.modelsDir, model);
      let file: string;
      try {
        file = await runImageFile(ctx.repo, ctx.paths.datasetsRoot, input.runId, input.itemId);
      } catch (err) {
        const status = (err as { status?: number }).status;
        throw new TRPCError({ code: status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message: errorMessage(err), cause: err });
      }
      let prediction: Awaited<ReturnType<typeof ctx.predict>>[number] | undefined;
      try {
        [prediction] = await ctx.predict(dir, [{ name: basename(file), data: await readFile(file) }], { heatmap: true, modelId: model.id });
      } catch (err) {
        throw predictError(model.id, err);
      }
      if (!prediction) return { unavailable: 'the model returned no prediction' };
      if (prediction.error !== undefined) return { unavailable: prediction.error };
      return prediction.heatmap ?? { unavailable: 'the prediction worker drew no map' };
    }),
} satisfies TRPCRouterRecord;

/** A failed prediction request as the client should see it. */
function predictError(modelId: string, err: unknown): TRPCError {
  if (err instanceof TRPCError) return err;
  if (err instanceof PredictBusyError) return new TRPCError({ code: 'TOO_MANY_REQUESTS', message: err.message, cause: err });
  if (err instanceof PredictInputError) return new TRPCError({ code: 'BAD_REQUEST', message: err.message, cause: err });
  if (err instanceof PredictUnavailableError) return new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: err.message, cause: err });
  return new TRPCError({ code: 'BAD_REQUEST', message: `Model ${modelId} could not predict: ${errorMessage(err)}`, cause: err });
}
