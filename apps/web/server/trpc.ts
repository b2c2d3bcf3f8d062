/** tRPC setup of the web API: context, error mapping, the procedure builders the routers use. */
import { isDatabaseUnreachable, type Repositories } from '@defectflow/db';
import type { PipelineGraph } from '@defectflow/nodes';
import type { Prediction } from '@defectflow/runner/client';
import { initTRPC, TRPCError } from '@trpc/server';
import { accessDenied, type Principal, type Role } from './auth/principal.ts';
import type { AuthService, ClientMeta } from './auth/service.ts';
import type { BackboneInspector } from './predict-transport.ts';
import type { PredictionLog } from './predictions/log.ts';
import type { SameSplitScorer } from './reviews/same-split.ts';
import type { AlarmMonitor } from './monitoring/alarms.ts';
import type { RunnerStartResult, RunnerStatus, RunOptions } from './runner-link.ts';
import type { SweepController } from './sweeps/controller.ts';
import type { ArtifactStore, DatasetPublisher } from './storage.ts';

/** What the routers need from the runner side (RunnerBridge in the server, a fake in tests). */
export interface RunnerControl {
  status(): RunnerStatus;
  /** Inserts the run (`record`) and hands it to the runner; throws when the runner cannot be reached. */
  startRun(runId: string, graph: PipelineGraph, record: () => Promise<void>, options?: RunOptions): Promise<RunnerStartResult>;
  cancelRun(runId: string): Promise<{ cancelled: boolean }>;
  /** Calls `listener` when a run's final status is stored (RunnerBridge); without it, waiters poll the row. */
  onRunEnded?(listener: (runId: string, status: string) => void): () => void;
  /** The runner's stable id when known (a sweep records the runner of the web server that drives it). */
  readonly runnerId?: string | null;
}

export interface PredictImage {
  name: string;
  data: Buffer;
}

// One image's answer and its parts: the runner's wire types (apps/runner/src/predict/types.ts), one definition.
export type { DecisionCall, DriftCall, HeatMap, Prediction } from '@defectflow/runner/client';

/**
 * Runs an exported model folder on images (in a runner: predict.ts, predict-transport.ts). `heatmap: true` adds
 * each prediction's class activation map (meant for one image at a time: the enlarged view asks for it).
 */
export type PredictFn = (
  modelDir: string,
  images: PredictImage[],
  /** `modelId`: the model's id as the runner should name it (and fetch it, in cluster mode); default its folder. */
  options?: { heatmap?: boolean; modelId?: string },
) => Promise<Prediction[]>;

export interface WebContext {
  repo: Repositories;
  runner: RunnerControl;
  /** Drives the sweeps this server started (server/sweeps/controller.ts). */
  sweeps: SweepController;
  paths: { dataDir: string; datasetsRoot: string; modelsDir: string };
  /** Run files and model folders (storage.ts); absent in tests: the local folders of `paths` (storeOf). */
  store?: ArtifactStore;
  /** Publishes a changed dataset when STORAGE_URL is set (cluster mode); absent = nothing to publish. */
  datasetPublisher?: DatasetPublisher;
  predict: PredictFn;
  /** ONNX backbone cut points and throughput, computed by the runner (absent: the backbone routes refuse). */
  backbones?: BackboneInspector;
  /** Where models.predict (the model page's drop-an-image) records its predictions. */
  predictionLog: PredictionLog;
  /** The monitoring alarm evaluator (absent in tests that do not need it). */
  alarms?: AlarmMonitor;
  /** Scores the production model on a retrain run's test split (reviews.comparison; absent in tests that do not need it). */
  sameSplit?: SameSplitScorer;
  /** Who is asking: a signed-in user, the implicit local admin (AUTH off), or anonymous. */
  principal: Principal;
  auth: AuthService;
  /** The HTTP exchange (session cookie, client address); absent for in-process callers. */
  http?: { client: ClientMeta; setCookie(cookie: string): void };
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
    if (isDatabaseUnreachable(cause)) {
      throw new TRPCError({
        code: 'SERVICE_UNAVAILABLE',
        message: 'The database cannot be reached right now; nothing saved is lost. Try again in a moment.',
        cause,
      });
    }
  }
  return result;
});

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;
/** No session needed (auth.me, signIn, setup, signOut). */
export const publicProcedure = t.procedure.use(mapErrors);

/** UNAUTHORIZED without a principal, FORBIDDEN ("needs the engineer role; you are a viewer") below `role`. */
function requireRole(role: Role) {
  return t.middleware(({ ctx, next }) => {
    const denied = accessDenied(ctx.principal, role);
    if (denied) throw new TRPCError({ code: denied.status === 401 ? 'UNAUTHORIZED' : 'FORBIDDEN', message: denied.message });
    return next();
  });
}

/** Every query: watch runs, read reports, datasets, models. */
export const viewerProcedure = publicProcedure.use(requireRole('viewer'));
/** Mutations on pipelines, templates, runs, product lines, dataset versions, predictions. */
export const engineerProcedure = publicProcedure.use(requireRole('engineer'));
/** Users, and whatever deletes or renames datasets and models. */
export const adminProcedure = publicProcedure.use(requireRole('admin'));

/** Throws NOT_FOUND naming the entity when `value` is null. */
export function found<T>(value: T | null | undefined, entity: string, id: string): T {
  if (value === null || value === undefined) throw new TRPCError({ code: 'NOT_FOUND', message: `${entity} ${id} does not exist` });
  return value;
}
