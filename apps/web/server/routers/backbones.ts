import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { ONNX_LAYOUTS, ONNX_NORMALIZATIONS } from '@defectflow/engine/constants';
import { z } from 'zod';
import { BackboneLibraryError, describeBackbone, listBackbones, measureBackbone, saveBackboneSettings } from '../backbones/library.ts';
import { engineerProcedure, viewerProcedure } from '../trpc.ts';

const name = z.string().min(1).max(80);
const rgb = z.tuple([z.number(), z.number(), z.number()]);

/** Library errors as tRPC errors with their meaning (not found, bad request). */
async function mapped<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof BackboneLibraryError)
      throw new TRPCError({ code: err.status === 404 ? 'NOT_FOUND' : err.status === 409 ? 'CONFLICT' : 'BAD_REQUEST', message: err.message });
    throw err;
  }
}

/** The backbone library (server/backbones/): imported ONNX backbones, their cut points and settings. */
export const backbonesRouter = {
  list: viewerProcedure.query(({ ctx }) => listBackbones(ctx.paths.dataDir)),
  /** The editor's pick list: cut points of one backbone with their shapes (`layer3 → 1024×14×14`). */
  cutPoints: viewerProcedure
    .input(z.object({ name }))
    .query(({ ctx, input }) => mapped(async () => (await describeBackbone(ctx.paths.dataDir, input.name)).cutPoints)),
  get: viewerProcedure.input(z.object({ name })).query(({ ctx, input }) => mapped(() => describeBackbone(ctx.paths.dataDir, input.name))),
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
    .mutation(({ ctx, input }) => mapped(() => saveBackboneSettings(ctx.paths.dataDir, input.name, input.settings))),
  /** images/s through ONNX Runtime on this machine (a few random images). */
  measure: engineerProcedure
    .input(z.object({ name, images: z.int().min(8).max(256).default(16) }))
    .mutation(({ ctx, input }) => mapped(() => measureBackbone(ctx.paths.dataDir, input.name, input.images))),
} satisfies TRPCRouterRecord;
