/** tRPC setup of the web API: context, error mapping, the procedure builders the routers use. */
import type { Repositories } from '@defectflow/db';
import type { PipelineGraph } from '@defectflow/nodes';
import { initTRPC, TRPCError } from '@trpc/server';
import type { RunnerStartResult, RunnerStatus } from './runner-link.ts';

/** What the routers need from the runner side (RunnerBridge in the server, a fake in tests). */
export interface RunnerControl {
  status(): RunnerStatus;
  /** Inserts the run (`record`) and hands it to the runner; throws when the runner cannot be reached. */
  startRun(runId: string, graph: PipelineGraph, record: () => Promise<void>): Promise<RunnerStartResult>;
  cancelRun(runId: string): Promise<{ cancelled: boolean }>;
}

export interface PredictImage {
  name: string;
  data: Buffer;
}

export interface Prediction {
  name: string;
  label: string;
  confidence: number;
  scores: Record<string, number>;
}

/** Runs an exported model folder on images; the server wires the engine's predict function in. */
export type PredictFn = (modelDir: string, images: PredictImage[]) => Promise<Prediction[]>;

export interface WebContext {
  repo: Repositories;
  runner: RunnerControl;
  paths: { dataDir: string; datasetsRoot: string; modelsDir: string };
  predict: PredictFn;
}

const t = initTRPC.context<WebContext>().create();

/** Repository errors become the matching tRPC codes, so clients get NOT_FOUND / CONFLICT, not 500. */
const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const cause = result.error.cause;
    if (cause?.name === 'NotFoundError') throw new TRPCError({ code: 'NOT_FOUND', message: cause.message, cause });
    if (cause?.name === 'ConflictError') throw new TRPCError({ code: 'CONFLICT', message: cause.message, cause });
    if (cause?.name === 'PathOutsideRootError') throw new TRPCError({ code: 'BAD_REQUEST', message: cause.message, cause });
  }
  return result;
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(mapErrors);

/** Throws NOT_FOUND naming the entity when `value` is null. */
export function found<T>(value: T | null | undefined, entity: string, id: string): T {
  if (value === null || value === undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `${entity} ${id} does not exist` });
  return value;
}
