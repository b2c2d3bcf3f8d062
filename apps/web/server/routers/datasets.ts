import type { TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { browse, listDatasets } from '../datasets-fs.ts';
import { datasetPageProcedures } from '../datasets/procedures.ts';
import { asOfLatestVersion } from '../datasets/versions.ts';
import { viewerProcedure } from '../trpc.ts';

export const datasetsRouter = {
  /** One folder under DATASETS_ROOT; paths escaping the root (.., absolute, symlinks) are refused. */
  browse: viewerProcedure
    .input(z.object({ path: z.string().max(1000).optional() }).optional())
    .query(({ ctx, input }) => browse(ctx.paths.datasetsRoot, input?.path ?? '')),
  /** Folders directly under DATASETS_ROOT that contain images, counted as of their latest version. */
  list: viewerProcedure.query(async ({ ctx }) => {
    const root = ctx.paths.datasetsRoot;
    return Promise.all((await listDatasets(root)).map((d) => asOfLatestVersion(root, d)));
  }),
  // Dataset page: inspect, versions, relabel, remove (server/datasets/).
  ...datasetPageProcedures,
} satisfies TRPCRouterRecord;
