import type { TRPCRouterRecord } from '@trpc/server';
import { viewerProcedure } from '../trpc.ts';

export const runnerRouter = {
  /** {connected, url, backend, device, busy, queue, currentRunId}; live updates come as socket `runner:status`. */
  status: viewerProcedure.query(({ ctx }) => ctx.runner.status()),
} satisfies TRPCRouterRecord;
