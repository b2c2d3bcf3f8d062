import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type RunEvent, validateGraph } from '@defectflow/nodes';
import type { ExecuteOptions, ExecuteResult, NodeRunFn, OutputCache, RuntimeLimits } from '@defectflow/nodes/runtime';
import { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { bearerToken, tokenMatches } from './auth.ts';
import { initRunnerBackend, type RunnerBackend } from './backend.ts';
import type { BackendPreference } from './env.ts';
import { EventLog, type EventLogOptions } from './event-log.ts';
import { type BackboneDeps, BackboneError, backbonesDirOf, inspectBackbone, measureBackbone } from './predict/backbones.ts';
import { handlePredictRequest, type PredictDeps } from './predict/handler.ts';
import { createPredictQueue } from './predict/queue.ts';
import { DEFAULT_PREDICT_LIMITS, PredictBusyError, PredictInputError, type PredictLimits, PredictModelNotFoundError } from './predict/types.ts';
import { RunQueue } from './queue.ts';
import { resolveRunnerId } from './runner-id.ts';
import { createRunnerRouter, type RunnerCapabilities, type RunnerCore } from './router.ts';
import { attachSockets } from './sockets.ts';
import { type ClusterWorker, type ClusterWorkerOptions, startClusterWorker } from './cluster/worker.ts';

export type ExecuteFn = (opts: ExecuteOptions, runFns?: Record<string, NodeRunFn>) => Promise<ExecuteResult>;

export interface RunnerServerOptions {
  port: number;
  host: string;
  token: string;
  dataDir: string;
  datasetsRoot: string;
  concurrency?: number;
  /** Runs that may wait for a slot (RUNNER_MAX_QUEUED); default unlimited. */
  maxQueued?: number;
  /** Replaces the executor (default: `execute` from @defectflow/nodes/runtime). */
  executeFn?: ExecuteFn;
  /** Node run functions handed to the executor (default: the executor's own, i.e. the real nodes). */
  runFns?: Record<string, NodeRunFn>;
  /** A preference to select a TensorFlow.js backend with, or a fixed backend to report (tests). */
  backend?: BackendPreference | RunnerBackend;
  /** How long a cancelled run may take to stop before the runner ends it itself. */
  cancelGraceMs?: number;
  /** How long a cancelled run's node may go on computing before onStuckRun (RUNNER_CANCEL_DEADLINE_S). */
  cancelDeadlineMs?: number;
  /** A run outlived cancelDeadlineMs: the process exits to be restarted (process.ts). Default: free its slot. */
  onStuckRun?: (runId: string, reason: string) => void;
  /** This runner's stable id (RUNNER_ID); default: read or created in DATA_DIR/runner-id. */
  runnerId?: string;
  /** Options of the events.jsonl writer (tests inject a failing append). */
  eventLog?: EventLogOptions;
  log?: (message: string) => void;
  /** PEM certificate and key (RUNNER_TLS_CERT / RUNNER_TLS_KEY): serve https instead of http. */
  tls?: { cert: string; key: string };
  /** Node outputs kept for cached reruns (RUNNER_OUTPUT_CACHE_ENTRIES); default 32. */
  outputCacheEntries?: number;
  /** Feature cache and image decode limits handed to every node (FEATURE_CACHE_*, IMAGE_MAX_PIXELS). */
  limits?: RuntimeLimits;
  /** Cluster mode (REDIS_URL): take runs from the BullMQ queue and publish events to Redis as well. */
  cluster?: Pick<ClusterWorkerOptions, 'redisUrl' | 'lockMs' | 'stalledCheckMs' | 'beforeAppend' | 'prepareRun'>;
  /** Prediction limits (PREDICT_* and IMAGE_MAX_PIXELS); the defaults of env.ts when absent. */
  predict?: Partial<PredictLimits>;
  /** Where model folders are read for predictions (default DATA_DIR/models; tests point it elsewhere). */
  predictModelsDir?: string;
  /** Cluster mode: fetch a model folder / backbone file before it is read (predict/handler.ts, backbones.ts). */
  ensureModel?: PredictDeps['ensureModel'];
  ensureBackbone?: BackboneDeps['ensureBackbone'];
}

export interface RunnerServer {
  url: string;
  /** The stable id the runner reports in its capabilities (runs.runner_id). */
  runnerId: string;
  port: number;
  backend: RunnerBackend;
  capabilities(): RunnerCapabilities;
  /** Ends running runs as failed (after an uncaught exception); the runner keeps serving. */
  failRunning(error: string): string[];
  /** Resolves when no run is queued or running. */
  idle(): Promise<void>;
  /** Stops accepting, cancels queued and running runs (each gets run.finished 'cancelled'), closes everything. */
  close(): Promise<void>;
}

const VERSION = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

interface Runtime {
  execute: ExecuteFn;
  cache?: OutputCache;
  /** The engine-backed node functions (the executor's default). */
  runFns: Record<string, NodeRunFn>;
}

/**
 * Node functions whose every call is registered with `track`: a cancelled run's executor returns at
 * once, but its node may compute for another batch — the run's slot waits for that promise.
 */
function trackedRunFns(fns: Record<string, NodeRunFn>, track: (work: Promise<unknown>) => void): Record<string, NodeRunFn> {
  const tracked: Record<string, NodeRunFn> = {};
  for (const [type, fn] of Object.entries(fns)) {
    tracked[type] = (inputs, params, ctx) => {
      const work = Promise.resolve().then(() => fn(inputs, params, ctx));
      track(work);
      return work;
    };
  }
  return tracked;
}

/**
 * The executor and one output cache per runner process, so unchanged nodes are reused across runs;
 * bounded, freeing the models and ONNX Runtime sessions of the outputs it drops.
 */
async function loadRuntime(executeFn: ExecuteFn | undefined, maxEntries: number): Promise<Runtime> {
  const runtime = await import('@defectflow/nodes/runtime');
  return {
    execute: executeFn ?? runtime.execute,
    cache: runtime.createOutputCache({ maxEntries }),
    runFns: runtime.nodeRunFunctions,
  };
}

/** Prediction and backbone refusals as tRPC errors with their meaning; anything else keeps its message. */
async function asTrpcError<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof TRPCError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (err instanceof PredictBusyError) throw new TRPCError({ code: 'TOO_MANY_REQUESTS', message, cause: err });
    if (err instanceof PredictInputError) throw new TRPCError({ code: 'BAD_REQUEST', message, cause: err });
    if (err instanceof PredictModelNotFoundError) throw new TRPCError({ code: 'NOT_FOUND', message, cause: err });
    if (err instanceof BackboneError) throw new TRPCError({ code: err.status === 404 ? 'NOT_FOUND' : 'BAD_REQUEST', message, cause: err });
    // The engine's own failures (a model that does not load, a file that is not ONNX): said as they are.
    throw new TRPCError({ code: 'UNPROCESSABLE_CONTENT', message, cause: err });
  }
}

/** One node:http server: tRPC at /trpc and socket.io at /socket.io, both behind RUNNER_TOKEN. */
export async function createRunnerServer(opts: RunnerServerOptions): Promise<RunnerServer> {
  const log = opts.log ?? ((m: string) => console.log(m));
  const dirs = {
    dataDir: opts.dataDir,
    datasetsRoot: opts.datasetsRoot,
    modelsDir: path.join(opts.dataDir, 'models'),
    cacheDir: path.join(opts.dataDir, 'cache'),
  };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true });

  const backend =
    typeof opts.backend === 'object' ? opts.backend : await initRunnerBackend(opts.backend ?? 'auto', log);
  const runtime = await loadRuntime(opts.executeFn, opts.outputCacheEntries ?? 32);
  const eventLog = new EventLog(path.join(opts.dataDir, 'runs'), opts.eventLog);
  const runnerId = resolveRunnerId(opts.dataDir, opts.runnerId);
  const concurrency = opts.concurrency ?? 1;

  let broadcastStatus = () => {};
  const queue = new RunQueue({
    concurrency,
    log: eventLog,
    cancelGraceMs: opts.cancelGraceMs,
    cancelDeadlineMs: opts.cancelDeadlineMs,
    onStuck: opts.onStuckRun,
    maxQueued: opts.maxQueued,
    onChange: () => broadcastStatus(),
    runGraph: (run, signal, sink) =>
      runtime.execute(
        {
          runId: run.runId,
          graph: run.graph,
          // run.started names the runner that holds the run (several may serve one web server in cluster mode).
          sink: (event) => sink(event.type === 'run.started' ? { ...event, runnerId } : event),
          signal,
          dirs: { ...dirs, runDir: eventLog.runDir(run.runId) },
          cache: runtime.cache,
          backend,
          limits: opts.limits,
        },
        trackedRunFns(opts.runFns ?? runtime.runFns, (work) => queue.track(run.runId, work)),
      ),
  });

  const capabilities = (): RunnerCapabilities => {
    const memory = process.memoryUsage();
    const running = queue.runningIds;
    return {
      version: VERSION,
      backend: backend.name,
      device: backend.device,
      memory: { rss: memory.rss, heapUsed: memory.heapUsed },
      busy: running.length > 0,
      queue: queue.queuedIds,
      currentRunId: running[0] ?? null,
      running,
      concurrency,
      runnerId,
    };
  };

  const runCore: Omit<RunnerCore, 'predict' | 'backboneCutPoints' | 'backboneMeasure'> = {
    capabilities,
    start(runId, graph) {
      const validation = validateGraph(graph);
      if (!validation.ok || !validation.graph) return { accepted: false, errors: validation.errors };
      const result = queue.enqueue(runId, validation.graph);
      if (result.accepted) return result;
      const code =
        result.code === 'duplicate_run_id' ? 'CONFLICT' : result.code === 'queue_full' ? 'TOO_MANY_REQUESTS' : 'SERVICE_UNAVAILABLE';
      throw new TRPCError({ code, message: result.message });
    },
    cancel: (runId) => queue.cancel(runId),
    events: (runId, since): RunEvent[] => eventLog.read(runId, since),
  };

  const predictLimits: PredictLimits = { ...DEFAULT_PREDICT_LIMITS, ...opts.predict };
  const predictQueue = createPredictQueue(predictLimits);
  const predictDeps: PredictDeps = {
    modelsDir: opts.predictModelsDir ?? dirs.modelsDir,
    queue: predictQueue,
    limits: predictLimits,
    ensureModel: opts.ensureModel,
  };
  const backboneDeps: BackboneDeps = { backbonesDir: backbonesDirOf(opts.dataDir), ensureBackbone: opts.ensureBackbone };
  // What the runner answers besides runs: over tRPC (errors as tRPC codes) and, in cluster mode, as df-predict jobs.
  const answers = {
    predict: (request: Parameters<typeof handlePredictRequest>[0]) => handlePredictRequest(request, predictDeps),
    cutPoints: (name: string) => inspectBackbone(backboneDeps, name),
    measure: (name: string, images: number) => measureBackbone(backboneDeps, name, images),
  };
  const core: RunnerCore = {
    ...runCore,
    predict: (request) => asTrpcError(() => answers.predict(request)),
    backboneCutPoints: (name) => asTrpcError(() => answers.cutPoints(name)),
    backboneMeasure: (name, images) => asTrpcError(() => answers.measure(name, images)),
  };

  const trpcHandler = createHTTPHandler({
    router: createRunnerRouter(core),
    // A prediction request carries up to PREDICT_MAX_IMAGES images of PREDICT_MAX_IMAGE_BYTES, base64 (4/3).
    maxBodySize: Math.ceil((predictLimits.maxImages * predictLimits.maxImageBytes * 4) / 3) + 4 * 1024 ** 2,
    basePath: '/trpc/',
    createContext: ({ req }) => ({ authorized: tokenMatches(opts.token, bearerToken(req.headers.authorization)) }),
  });

  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/trpc/')) {
      trpcHandler(req, res);
      return;
    }
    // socket.io answers its own path before this handler; anything else is unknown.
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the runner serves /trpc and /socket.io\n');
  };
  // https keeps the runner token and the run data private on the way to a remote web server.
  const httpServer = opts.tls ? createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, handler) : createServer(handler);
  const sockets = attachSockets(httpServer, { token: opts.token, log: eventLog, status: capabilities });
  broadcastStatus = sockets.broadcastStatus;

  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(opts.port, opts.host, () => {
      httpServer.off('error', reject);
      resolve();
    });
  });
  const port = (httpServer.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const cluster: ClusterWorker | null = opts.cluster
    ? await startClusterWorker({
        ...opts.cluster,
        runnerId,
        version: VERSION,
        backend,
        concurrency,
        queue,
        eventLog,
        log,
        // Predictions and backbone inspection from the web servers' df-predict jobs, as the tRPC procedures answer them.
        serve: (name, data) => {
          if (name === 'predict') return answers.predict(data as Parameters<typeof answers.predict>[0]);
          const { name: backbone, images } = data as { name: string; images?: number };
          if (name === 'cutPoints') return answers.cutPoints(backbone);
          if (name === 'measure') return answers.measure(backbone, images ?? 16);
          throw new Error(`unknown request "${name}"`);
        },
      })
    : null;

  let closing: Promise<void> | undefined;
  return {
    url: `${opts.tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    runnerId,
    backend,
    capabilities,
    failRunning: (error) => queue.failRunning(error),
    idle: () => queue.idle(),
    close() {
      closing ??= (async () => {
        // Cluster: the job workers stop taking runs and return once the run queue has ended the running ones.
        await Promise.all([cluster?.close(), queue.shutdown(opts.cancelGraceMs ?? 5000)]);
        await predictQueue.close();
        // Give the final run.finished events a moment to leave before the sockets close.
        await new Promise((r) => setTimeout(r, 50));
        await new Promise<void>((resolve) => {
          sockets.io.close(() => resolve());
          httpServer.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
