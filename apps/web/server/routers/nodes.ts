import { serializeRegistry } from '@defectflow/nodes';
import type { TRPCRouterRecord } from '@trpc/server';
import { viewerProcedure } from '../trpc.ts';

/** The node catalogue as data: the editor draws palette, handles and forms from it (STYLE.md point 2). */
export const nodesRouter = {
  registry: viewerProcedure.query(() => serializeRegistry()),
} satisfies TRPCRouterRecord;
