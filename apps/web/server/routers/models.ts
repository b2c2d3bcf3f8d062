import { rm } from 'node:fs/promises';
import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { errorMessage } from '../log.ts';
import { modelDirInside } from '../paths.ts';
import { PredictBusyError, PredictInputError } from '../predict.ts';
import { adminProcedure, engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const ModelName = z
  .string()
  .trim()
  .min(1, 'a model name must not be empty')
  .max(120, 'a model name is at most 120 characters');

export const modelsRouter = {
  list: viewerProcedure
    .input(z.object({ productLineId: z.string().optional() }).optional())
    .query(({ ctx, input }) => ctx.repo.models.list(input?.productLineId)),

  get: viewerProcedure
    .input(z.object({ id: z.string().min(1) }))
    .query(async ({ ctx, input }) => found(await ctx.repo.models.get(input.id), 'model', input.id)),

  /** Renaming is for admins, like deleting (the roles' rule for models and datasets). */
  rename: adminProcedure
    .input(z.object({ id: z.string().min(1), name: ModelName }))
    .mutation(({ ctx, input }) => ctx.repo.models.rename(input.id, input.name)), // NotFoundError → NOT_FOUND

  /** Marks the model its product line uses now (the previous one stops being active); `active: false` clears it. */
  setActive: engineerProcedure
    .input(z.object({ id: z.string().min(1), active: z.boolean().default(true) }))
    .mutation(({ ctx, input }) => ctx.repo.models.setActive(input.id, input.active)),

  /** Deletes the model's row and its exported folder; the run that made it stays. */
  delete: adminProcedure.input(z.object({ id: z.string().min(1) })).mutation(async ({ ctx, input }) => {
    const model = found(await ctx.repo.models.get(input.id), 'model', input.id);
    let dir: string | null = null;
    try {
      dir = modelDirInside(ctx.paths.modelsDir, model);
    } catch {
      dir = null; // a row pointing outside the models dir: drop the row, touch no files
    }
    await ctx.repo.models.remove(model.id);
    if (dir) await rm(dir, { recursive: true, force: true });
    return { deleted: true, id: model.id };
  }),

  /**
   * Classifies uploaded images with a deployed model (the exported folder, loaded by the engine in the prediction
   * worker). Each image gets its prediction or its own error; limits (count, bytes, queue) are in predict.ts.
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
      const dir = modelDirInside(ctx.paths.modelsDir, model);
      // Empty or non-base64 data decodes to nothing: that file's own error, not the request's.
      const images = input.images.map((img) => ({ name: img.name, data: Buffer.from(img.dataBase64.replace(/^data:[^,]*,/, ''), 'base64') }));
      try {
        return { modelId: model.id, labels: model.labels, predictions: await ctx.predict(dir, images) };
      } catch (err) {
        if (err instanceof TRPCError) throw err;
        if (err instanceof PredictBusyError) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message: err.message, cause: err });
        if (err instanceof PredictInputError) throw new TRPCError({ code: 'BAD_REQUEST', message: err.message, cause: err });
        throw new TRPCError({ code: 'BAD_REQUEST', message: `Model ${model.id} could not predict: ${errorMessage(err)}`, cause: err });
      }
    }),
} satisfies TRPCRouterRecord;
