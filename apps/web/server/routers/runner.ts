import type { TRPCRouterRecord } from '@trpc/server';
import { publicProcedure } from '../trpc.ts';

export const runnerRouter = {
  /** {connected, url, backend, device, busy, queue, currentRunId}; live updates come as socket `runner:status`. */
  status: publicProcedure.query(({ ctx }) => ctx.runner.status()),
} satisfies TRPCRouterRecord;
