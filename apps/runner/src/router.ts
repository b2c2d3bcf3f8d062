import type { GraphError, RunEvent } from '@defectflow/nodes';
import { initTRPC, TRPCError } from '@trpc/server';
import { z } from 'zod';
import { RUN_ID_PATTERN } from './event-log.ts';
import type { BackboneInspection, BackboneMeasurement } from './predict/backbones.ts';
import type { PredictResponse } from './predict/types.ts';

export interface RunnerCapabilities {
  version: string;
  backend: string;
  device: string;
  memory: { rss: number; heapUsed: number };
  busy: boolean;
  /** Run ids waiting, in start order (the running ones are not in it). */
  queue: string[];
  /** The (first) running run, null when idle. */
  currentRunId: string | null;
  /** Every running run (more than one only with RUNNER_CONCURRENCY > 1). */
  running: string[];
  concurrency: number;
  /** The runner's stable id (RUNNER_ID or DATA_DIR/runner-id): the web server records it on the runs it hands over. */
  runnerId: string;
}

export type StartRunResult = { accepted: true; position: number } | { accepted: false; errors: GraphError[] };

/** What the router needs from the runner; server.ts provides it. */
export interface RunnerCore {
  capabilities(): RunnerCapabilities;
  /** Throws TRPCError CONFLICT for a run id seen before, TOO_MANY_REQUESTS when the queue is full, SERVICE_UNAVAILABLE while shutting down. */
  start(runId: string, graph: unknown): StartRunResult;
  cancel(runId: string): boolean;
  events(runId: string, since: number): RunEvent[];
  /** predict/handler.ts (request validated there); throws TRPCError with the code of its refusal. */
  predict(request: unknown): Promise<PredictResponse>;
  backboneCutPoints(name: string): Promise<BackboneInspection>;
  backboneMeasure(name: string, images: number): Promise<BackboneMeasurement>;
}

export interface RunnerContext {
  authorized: boolean;
}

// isDev false: error responses carry no server stack traces.
const t = initTRPC.context<RunnerContext>().create({ isDev: false });

/** Every procedure needs `authorization: Bearer <RUNNER_TOKEN>`. */
const authed = t.procedure.use(({ ctx, next }) => {
  if (!ctx.authorized) {
    throw new TRPCError({ code: 'UNAUTHORIZED', message: 'missing or wrong runner token (authorization: Bearer …)' });
  }
  return next();
});

const RunId = z.string().regex(RUN_ID_PATTERN, 'runId must be 1-128 characters of [A-Za-z0-9_.-], not starting with . _ or -');

const BackboneName = z.string().min(1).max(80);

export function createRunnerRouter(core: RunnerCore) {
  return t.router({
    capabilities: authed.query(() => core.capabilities()),
    runs: t.router({
      /** Validates the graph and queues it; answers at once. */
      start: authed
        .input(z.object({ runId: RunId, graph: z.unknown() }))
        .mutation(({ input }): StartRunResult => core.start(input.runId, input.graph)),
      cancel: authed
        .input(z.object({ runId: RunId }))
        .mutation(({ input }) => ({ cancelled: core.cancel(input.runId) })),
      /** Events with seq > since, read from the run's events.jsonl (also for runs of an earlier process). */
      events: authed
        .input(z.object({ runId: RunId, since: z.number().int().min(0).default(0) }))
        .query(({ input }) => core.events(input.runId, input.since)),
    }),
    /** Predicts images with an exported model folder of DATA_DIR/models (PredictRequest, predict/types.ts). */
    predict: authed.input(z.unknown()).mutation(({ input }) => core.predict(input)),
    backbones: t.router({
      /** Cut points with shapes, parameters and settings of DATA_DIR/backbones/<name> (ONNX Runtime). */
      cutPoints: authed.input(z.object({ name: BackboneName })).query(({ input }) => core.backboneCutPoints(input.name)),
      /** images/s through ONNX Runtime on this machine (a few random images). */
      measure: authed
        .input(z.object({ name: BackboneName, images: z.int().min(8).max(256).default(16) }))
        .mutation(({ input }) => core.backboneMeasure(input.name, input.images)),
    }),
  });
}

export type RunnerRouter = ReturnType<typeof createRunnerRouter>;
