/** The prediction log (predictions/log.ts), read by the model page's "Recent predictions" table. */
import type { TRPCRouterRecord } from '@trpc/server';
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { found, viewerProcedure } from '../trpc.ts';

/** `<ISO time>|<row id>`: where the next page starts (rows are newest first). */
const Cursor = z.string().max(200).regex(/^[^|]+\|[^|]+$/, 'cursor: pass back nextCursor from the previous page');

function parseCursor(cursor: string): { createdAt: Date; id: string } {
  const [iso, id] = cursor.split('|') as [string, string];
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime())) throw new TRPCError({ code: 'BAD_REQUEST', message: `cursor: "${iso}" is not a time` });
  return { createdAt, id };
}

export const predictionsRouter = {
  /** A model's predictions, newest first, `limit` at a time; `nextCursor` is null on the last page. */
  list: viewerProcedure
    .input(z.object({ modelId: z.string().min(1), limit: z.number().int().min(1).max(200).default(20), cursor: Cursor.nullish() }))
    .query(async ({ ctx, input }) => {
      found(await ctx.repo.models.get(input.modelId), 'model', input.modelId);
      const rows = await ctx.repo.predictions.list({
        modelId: input.modelId,
        limit: input.limit + 1,
        after: input.cursor ? parseCursor(input.cursor) : undefined,
      });
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return {
        items: page.map((r) => ({
          id: r.id,
          createdAt: r.createdAt,
          modelVersion: r.modelVersion,
          label: r.label,
          confidence: r.confidence,
          lowConfidence: r.lowConfidence,
          latencyMs: r.latencyMs,
          imageSha256: r.imageSha256,
          imageName: r.imageName,
          source: r.source,
          tokenId: r.tokenId,
          /** The image is on disk: GET /api/predictions/<id>/image[?thumb=px]. */
          hasImage: r.imagePath !== null,
          imageReason: r.imageReason,
        })),
        nextCursor: rows.length > input.limit && last ? `${last.createdAt.toISOString()}|${last.id}` : null,
      };
    }),
} satisfies TRPCRouterRecord;
