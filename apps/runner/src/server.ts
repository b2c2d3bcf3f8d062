import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { type RunEvent, validateGraph } from '@defectflow/nodes';
import type { ExecuteOptions, ExecuteResult, NodeRunFn, OutputCache } from '@defectflow/nodes/runtime';
import { TRPCError } from '@trpc/server';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { bearerToken, tokenMatches } from './auth.ts';
import { initRunnerBackend, type RunnerBackend } from './backend.ts';
import type { BackendPreference } from './env.ts';
import { EventLog } from './event-log.ts';
import { RunQueue } from './queue.ts';
import { createRunnerRouter, type RunnerCapabilities, type RunnerCore } from './router.ts';
import { attachSockets } from './sockets.ts';

export type ExecuteFn = (opts: ExecuteOptions, runFns?: Record<string, NodeRunFn>) => Promise<ExecuteResult>;

export interface RunnerServerOptions {
  port: number;
  host: string;
  token: string;
  dataDir: string;
  datasetsRoot: string;
  concurrency?: number;
  /** Replaces the executor (default: `execute` from @defectflow/nodes/runtime). */
  executeFn?: ExecuteFn;
  /** Node run functions handed to the executor (default: the executor's own, i.e. the real nodes). */
  runFns?: Record<string, NodeRunFn>;
  /** A preference to select a TensorFlow.js backend with, or a fixed backend to report (tests). */
  backend?: BackendPreference | RunnerBackend;
  /** How long a cancelled run may take to stop before the runner ends it itself. */
  cancelGraceMs?: number;
  log?: (message: string) => void;
}

export interface RunnerServer {
  url: string;
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
}

/** The executor and one output cache per runner process, so unchanged nodes are reused across runs. */
async function loadRuntime(executeFn: ExecuteFn | undefined): Promise<Runtime> {
  const runtime = await import('@defectflow/nodes/runtime');
  return { execute: executeFn ?? runtime.execute, cache: new runtime.MemoryOutputCache() };
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
  const runtime = await loadRuntime(opts.executeFn);
  const eventLog = new EventLog(path.join(opts.dataDir, 'runs'));
  const concurrency = opts.concurrency ?? 1;

  let broadcastStatus = () => {};
  const queue = new RunQueue({
    concurrency,
    log: eventLog,
    cancelGraceMs: opts.cancelGraceMs,
    onChange: () => broadcastStatus(),
    runGraph: (run, signal, sink) =>
      runtime.execute(
        {
          runId: run.runId,
          graph: run.graph,
          sink,
          signal,
          dirs: { ...dirs, runDir: eventLog.runDir(run.runId) },
          cache: runtime.cache,
          backend,
        },
        opts.runFns,
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
    };
  };

  const core: RunnerCore = {
    capabilities,
    start(runId, graph) {
      const validation = validateGraph(graph);
      if (!validation.ok || !validation.graph) return { accepted: false, errors: validation.errors };
      const result = queue.enqueue(runId, validation.graph);
      if (result.accepted) return result;
      const code = result.code === 'duplicate_run_id' ? 'CONFLICT' : 'SERVICE_UNAVAILABLE';
      throw new TRPCError({ code, message: result.message });
    },
    cancel: (runId) => queue.cancel(runId),
    events: (runId, since): RunEvent[] => eventLog.read(runId, since),
  };

  const trpcHandler = createHTTPHandler({
    router: createRunnerRouter(core),
    basePath: '/trpc/',
    createContext: ({ req }) => ({ authorized: tokenMatches(opts.token, bearerToken(req.headers.authorization)) }),
  });

  const httpServer = createServer((req: IncomingMessage, res: ServerResponse) => {
    if (req.url?.startsWith('/trpc/')) {
      trpcHandler(req, res);
      return;
    }
    // socket.io answers its own path before this handler; anything else is unknown.
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the runner serves /trpc and /socket.io\n');
  });
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

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    backend,
    capabilities,
    failRunning: (error) => queue.failRunning(error),
    idle: () => queue.idle(),
    close() {
      closing ??= (async () => {
        await queue.shutdown(opts.cancelGraceMs ?? 5000);
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
