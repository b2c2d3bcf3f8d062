import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { errorMessage } from '../log.ts';
import { modelDirInside } from '../paths.ts';
import { found, publicProcedure } from '../trpc.ts';

const MAX_IMAGE_BYTES = 20 * 1024 * 1024;

export const modelsRouter = {
  list: publicProcedure
    .input(z.object({ productLineId: z.string().optional() }).optional())
    .query(({ ctx, input }) => ctx.repo.models.list(input?.productLineId)),

  get: publicProcedure
    .input(z.object({ id: z.string().min(1) }))
    .query(async ({ ctx, input }) => found(await ctx.repo.models.get(input.id), 'model', input.id)),

  /** Classifies uploaded images with a deployed model (the exported folder, loaded by the engine). */
  predict: publicProcedure
    .input(
      z.object({
        modelId: z.string().min(1),
        images: z
          .array(z.object({ name: z.string().min(1).max(255), dataBase64: z.string().min(1) }))
          .min(1, 'send at least one image')
          .max(32, 'at most 32 images per request'),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const model = found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
      // Outside the models dir: PathOutsideRootError, a BAD_REQUEST naming the model (mapErrors).
      const dir = modelDirInside(ctx.paths.modelsDir, model);
      const images = input.images.map((img) => {
        const data = Buffer.from(img.dataBase64.replace(/^data:[^,]*,/, ''), 'base64');
        if (data.length === 0) throw new TRPCError({ code: 'BAD_REQUEST', message: `image "${img.name}" is empty or not base64` });
        if (data.length > MAX_IMAGE_BYTES) throw new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `image "${img.name}" is over 20 MB` });
        return { name: img.name, data };
      });
      try {
        return { modelId: model.id, labels: model.labels, predictions: await ctx.predict(dir, images) };
      } catch (err) {
        if (err instanceof TRPCError) throw err;
        throw new TRPCError({ code: 'BAD_REQUEST', message: `Model ${model.id} could not predict: ${errorMessage(err)}`, cause: err });
      }
    }),
} satisfies TRPCRouterRecord;
