import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { ONNX_LAYOUTS, ONNX_NORMALIZATIONS } from '@defectflow/engine/constants';
import { z } from 'zod';
import { BackboneLibraryError, describeBackbone, listBackbones, measureBackbone, saveBackboneSettings } from '../backbones/library.ts';
import { PredictInputError, PredictUnavailableError } from '../predict.ts';
import type { BackboneInspector } from '../predict-transport.ts';
import { engineerProcedure, viewerProcedure, type WebContext } from '../trpc.ts';

const name = z.string().min(1).max(80);
const rgb = z.tuple([z.number(), z.number(), z.number()]);

/** Library errors as tRPC errors with their meaning (not found, bad request). */
async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BackboneLibraryError) {
      const code = err.status === 404 ? 'NOT_FOUND' : err.status === 409 ? 'CONFLICT' : err.status === 503 ? 'SERVICE_UNAVAILABLE' : 'BAD_REQUEST';
      throw new TRPCError({ code, message: err.message });
    }
    if (err instanceof PredictUnavailableError) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: err.message, cause: err });
    if (err instanceof PredictInputError) throw new TRPCError({ code: 'BAD_REQUEST', message: err.message, cause: err });
    throw err;
  }
}

/** The runner's backbone inspection (ONNX Runtime runs there, never in the web server). */
function inspector(ctx: Pick<WebContext, 'backbones'>): BackboneInspector {
  if (!ctx.backbones) throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'backbone inspection needs a runner; none is connected to this web server' });
  return ctx.backbones;
}

/** The backbone library (server/backbones/): imported ONNX backbones, their cut points and settings. */
export const backbonesRouter = {
  list: viewerProcedure.query(({ ctx }) => mapped(() => listBackbones(ctx.paths.dataDir, inspector(ctx)))),
  /** The editor's pick list: cut points of one backbone with their shapes (`layer3 → 1024×14×14`). */
  cutPoints: viewerProcedure
    .input(z.object({ name }))
    .query(({ ctx, input }) => mapped(async () => (await describeBackbone(ctx.paths.dataDir, input.name, inspector(ctx))).cutPoints)),
  get: viewerProcedure.input(z.object({ name })).query(({ ctx, input }) => mapped(() => describeBackbone(ctx.paths.dataDir, input.name, inspector(ctx)))),
  /** Saves the settings form as the sidecar `<name>.onnx.json` the backbone node reads. */
  saveSettings: engineerProcedure
    .input(
      z.object({
        name,
        settings: z
          .object({
            inputSize: z.int().min(16).max(1024).optional(),
            layout: z.enum(ONNX_LAYOUTS).optional(),
            normalization: z.enum(ONNX_NORMALIZATIONS).optional(),
            mean: rgb.optional(),
            std: rgb.optional(),
            cut: z.string().max(500).optional(),
          })
          .strict(),
      }),
    )
    .mutation(({ ctx, input }) => mapped(() => saveBackboneSettings(ctx.paths.dataDir, input.name, input.settings, inspector(ctx)))),
  /** images/s through ONNX Runtime on the runner's machine (a few random images). */
  measure: engineerProcedure
    .input(z.object({ name, images: z.int().min(8).max(256).default(16) }))
    .mutation(({ ctx, input }) => mapped(() => measureBackbone(ctx.paths.dataDir, input.name, input.images, inspector(ctx)))),
} satisfies TRPCRouterRecord;
