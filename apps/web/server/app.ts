/**
 * The web server, assembled: database, seed, runner (embedded child or external), tRPC at /api/trpc,
 * file routes, socket.io for browsers, and Next.js for every page.
 */
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDb, type DbHandle } from '@defectflow/db';
import { storeFromEnv } from '@defectflow/storage';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import next from 'next';
import { appendSetCookie } from './auth/cookies.ts';
import { installRequestGuard, machineAddresses, RequestGuard } from './auth/request-guard.ts';
import { AuthService } from './auth/service.ts';
import { REPO_ROOT, WEB_DIR, type WebEnv } from './env.ts';
import { createBackboneUploadRoute } from './backbones/upload.ts';
import { createDatasetUploadRoutes } from './datasets/upload.ts';
import { createFileRoutes } from './http-files.ts';
import { consoleLogger, errorMessage, type Logger } from './log.ts';
import { createPredictor } from './predict.ts';
import { type PredictTransport, trpcPredictTransport } from './predict-transport.ts';
import { queuePredictTransport } from './cluster/predict-queue.ts';
import { createPredictionApiRoutes } from './predictions/api-routes.ts';
import { PredictionLog } from './predictions/log.ts';
import { AlarmMonitor } from './monitoring/alarms.ts';
import { AlarmWebhook } from './monitoring/webhook.ts';
import { appRouter } from './router.ts';
import { resolveRunnerId } from '@defectflow/runner/runner-id';
import { RunnerBridge } from './runner-bridge.ts';
import { connectRunner, plainRunnerWarning, type RunnerLink } from './runner-link.ts';
import { connectRedisLink, type RedisLink } from './cluster/redis-link.ts';
import { mirrorCasDir, startDatasetMirror } from './cluster/dataset-mirror.ts';
import { startWebPresence } from './cluster/web-presence.ts';
import { RedisWindowLimiter } from './cluster/rate-limit.ts';
import { redisAuthState } from './cluster/shared-auth.ts';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { type EmbeddedRunner, startEmbeddedRunner } from './runner-process.ts';
import { SameSplitScorer } from './reviews/same-split.ts';
import { ensureSampleDatasets, seedDatabase } from './seed.ts';
import { attachBrowserSockets } from './sockets.ts';
import { createDatasetPublisher } from './storage.ts';
import { SweepController } from './sweeps/controller.ts';
import { ThumbCache } from './thumb-cache.ts';
import type { WebContext } from './trpc.ts';

/** Cluster mode: how often a web server looks for sweeps whose web server is gone (presence TTL 10 s). */
const ABANDONED_SWEEP_CHECK_MS = 15_000;

export class NotBuiltError extends Error {
  constructor(dir: string) {
    super(
      `The web app is not built (${join(dir, '.next')} is missing or incomplete).\n` +
        '  Run `npm start` from the repository root (scripts/start.sh builds it when needed),\n' +
        '  or build it yourself: `npm run build -w @defectflow/web`, or set WEB_DEV=1 for development mode.',
    );
    this.name = 'NotBuiltError';
  }
}

export interface WebServer {
  url: string;
  port: number;
  bridge: RunnerBridge;
  db: DbHandle;
  /** Resolves when the sample dataset exists (or generation was skipped). */
  sampleReady: Promise<unknown>;
  close(): Promise<void>;
}

export interface StartOptions {
  log?: Logger;
  /** Environment handed to the embedded runner child (PATH, RUNNER_BACKEND, …). */
  childEnv?: Record<string, string | undefined>;
}

export async function startWebServer(env: WebEnv, options: StartOptions = {}): Promise<WebServer> {
  const log = options.log ?? consoleLogger('web');
  if (!env.dev && !existsSync(join(WEB_DIR, '.next', 'BUILD_ID'))) throw new NotBuiltError(WEB_DIR);

  const cleanups: Array<() => Promise<void> | void> = [];
  const cleanup = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        log.warn(`shutdown step failed: ${errorMessage(err)}`);
      }
    }
  };

  try {
    const db = await createDb({ url: env.databaseUrl, dataDir: env.dataDir });
    cleanups.push(() => db.close());
    log.info(`database: ${db.kind === 'pglite' ? `PGlite in ${join(env.dataDir, 'pg')}` : 'PostgreSQL (DATABASE_URL)'}`);
    // Servers started at once would each find no sample template and seed it twice (a spurious "version 2").
    await db.exclusive('seed', () => seedDatabase(db.repo, REPO_ROOT, log));
    // Run files and model folders are read through this store (default: DATA_DIR itself, nothing copied).
    const store = storeFromEnv(env.storage, env.dataDir);
    log.info(`storage: ${store.describe()}`);
    // Cluster mode only: datasets changed here are published for runners on other machines.
    const datasetPublisher = createDatasetPublisher({ store, datasetsRoot: env.datasetsRoot, enabled: Boolean(env.storage.STORAGE_URL), log });

    // Cluster mode: runners anywhere take runs from the Redis queue; no runner of our own. Sign-in limits, the setup
    // code and revocations are shared through the same Redis.
    const clusterLink: RedisLink | null = env.cluster
      ? connectRedisLink({ redisUrl: env.cluster.redisUrl, consumer: env.cluster.webId, log: consoleLogger('cluster') })
      : null;
    if (clusterLink) cleanups.push(() => clusterLink.close());
    const auth = new AuthService(db.repo, env.auth, log, clusterLink ? redisAuthState(clusterLink.redis, consoleLogger('auth')) : undefined);
    await auth.bootstrap();
    cleanups.push(() => auth.close());
    log.info(auth.enabled ? 'access: accounts (AUTH=on)' : 'access: AUTH off (loopback only; every request is the local admin)');
    const guard = new RequestGuard({
      auth,
      allowedHosts: [
        env.host,
        ...env.allowedHosts,
        ...(env.publicUrl ? [new URL(env.publicUrl).hostname] : []),
        ...machineAddresses(),
      ],
      trustedOriginHosts: env.allowedHosts,
      publicOrigin: env.publicUrl ? new URL(env.publicUrl).origin : undefined,
      trustProxy: env.trustProxy,
    });

    let embedded: EmbeddedRunner | null = null;
    let link: RunnerLink;
    /** Cluster mode with a store: a backbone of this server's library goes to the store before a runner inspects it. */
    let publishBackbone: ((name: string) => Promise<void>) | null = null;
    if (clusterLink && env.cluster) {
      link = clusterLink;
      log.info(`cluster mode: runs go to the queue at ${clusterLink.url}; this server reads events as "${env.cluster.webId}"`);
      if (env.storage.STORAGE_URL) {
        // Every web server mirrors the published datasets: a request needs nothing that only another server has.
        const mirror = await startDatasetMirror({
          redis: clusterLink.redis,
          store,
          datasetsRoot: env.datasetsRoot,
          backbonesDir: join(env.dataDir, 'backbones'),
          casDir: mirrorCasDir(env.dataDir),
          cacheMaxBytes: env.blobCacheMaxBytes,
          webId: env.cluster.webId,
          log: consoleLogger('datasets'),
        });
        datasetPublisher.onPublished = mirror.announce;
        publishBackbone = mirror.publishBackbone;
        cleanups.push(() => mirror.close());
      } else {
        log.warn(
          'cluster mode without STORAGE_URL: run files and models stay on each runner\'s disk, so reports show headline metrics only and deployed models are not registered; set STORAGE_URL (s3://bucket/prefix?endpoint=… or file:///shared/folder) on every web server and runner',
        );
      }
    } else if (env.runnerUrl) {
      const warning = plainRunnerWarning(env.runnerUrl);
      if (warning) log.warn(warning);
      const runnerUrl = env.runnerUrl;
      link = connectRunner({
        url: runnerUrl,
        token: env.runnerToken,
        ca: env.runnerCa,
        onError: (message) => log.warn(`runner at ${runnerUrl}: ${message}`),
      });
    } else {
      embedded = await startEmbeddedRunner({
        repoRoot: REPO_ROOT,
        port: env.runnerPort,
        token: env.runnerToken,
        dataDir: env.dataDir,
        datasetsRoot: env.datasetsRoot,
        baseEnv: options.childEnv ?? {},
        log: consoleLogger('web'),
      });
      link = connectRunner({ url: embedded.url, token: env.runnerToken });
      const child = embedded;
      cleanups.push(() => child.stop()); // idempotent; the shutdown below stops it earlier in order
    }
    if (!clusterLink) cleanups.push(() => link.close()); // the cluster link's close is queued where it opened

    const nextApp = next({ dev: env.dev, dir: WEB_DIR, hostname: env.host, port: env.port, quiet: !env.dev });
    await nextApp.prepare();
    cleanups.push(() => nextApp.close());
    const handleNext = nextApp.getRequestHandler();

    // Filled in below; the HTTP handler only runs after listen().
    let ctx: Omit<WebContext, 'principal' | 'http'> | null = null;
    const trpcHandler = createHTTPHandler({
      router: appRouter,
      basePath: '/api/trpc/',
      maxBodySize: 64 * 1024 * 1024,
      // The principal the request guard resolved, and the response for the session cookie.
      createContext: async ({ req, res }): Promise<WebContext> => ({
        ...ctx!,
        principal: await guard.principal(req),
        http: { client: guard.clientMeta(req), setCookie: (cookie) => appendSetCookie(res, cookie) },
      }),
      onError: ({ error, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR') log.error(`tRPC ${path ?? '?'}: ${error.message}`);
      },
    });
    const predictionLog = new PredictionLog({
      repo: db.repo,
      dir: join(env.dataDir, 'predictions'),
      ...env.predictionLog,
      log,
      // Cluster mode with a store: kept images reach every web server through it.
      ...(env.cluster && env.storage.STORAGE_URL ? { store } : {}),
    });
    await predictionLog.start(); // prunes past PREDICTION_RETENTION_DAYS now and hourly
    cleanups.push(() => predictionLog.close());
    const { webhook: webhookConfig, ...thresholds } = env.alarms;
    const webhook = webhookConfig ? new AlarmWebhook({ ...webhookConfig, log }) : null;
    if (webhook) cleanups.push(() => webhook.close());
    const alarms = new AlarmMonitor({ repo: db.repo, thresholds, modelsDir: env.modelsDir, store, webhook, log });
    // Judged after each logged batch, off the prediction's path (observe is serial per model and never throws).
    predictionLog.onRecorded = (modelId, rows) => void alarms.observe(modelId, rows);
    const imageRoutes = createFileRoutes({
      repo: db.repo,
      datasetsRoot: env.datasetsRoot,
      modelsDir: env.modelsDir,
      store,
      log,
      thumbs: new ThumbCache({ dir: join(env.dataDir, 'cache', 'thumbs'), maxBytes: env.thumbCacheMaxBytes }),
      maxPixels: env.imageMaxPixels,
      predictionLog,
    });
    const uploadRoutes = createDatasetUploadRoutes({ repo: db.repo, datasetsRoot: env.datasetsRoot, log, limits: env.uploads, publisher: datasetPublisher });
    cleanups.push(() => uploadRoutes.close()); // the idle-upload sweep timer
    // Predictions and ONNX inspection run in the runner (this process loads neither TF.js nor ONNX Runtime).
    let predictTransport: PredictTransport;
    if (clusterLink) {
      const cluster = clusterLink;
      const viaQueue = queuePredictTransport({
        redis: cluster.redis,
        timeoutMs: env.predict.timeoutMs,
        runnersAlive: () => cluster.cluster().runners.length,
      });
      cleanups.push(() => viaQueue.close());
      const publish = publishBackbone;
      // The runner answering reads the backbone from the store: this server's copy (just uploaded or edited) first.
      predictTransport = publish
        ? {
            predict: viaQueue.predict,
            cutPoints: async (name) => (await publish(name), viaQueue.cutPoints(name)),
            measure: async (name, images) => (await publish(name), viaQueue.measure(name, images)),
          }
        : viaQueue;
    } else {
      predictTransport = trpcPredictTransport({
        url: embedded ? embedded.url : link.url,
        token: env.runnerToken,
        ca: env.runnerCa,
        timeoutMs: env.predict.timeoutMs,
      });
    }
    const backboneUpload = createBackboneUploadRoute({ dataDir: env.dataDir, maxBytes: env.backboneUploadMaxBytes, log, inspector: predictTransport });
    const predictor = createPredictor({ transport: predictTransport, modelsDir: env.modelsDir, limits: env.predict });
    cleanups.push(() => predictor.close());
    const predictionApi = createPredictionApiRoutes({
      repo: db.repo,
      predict: predictor.predict,
      predictionLog,
      modelsDir: env.modelsDir,
      limits: env.predict,
      ratePerMin: env.predictRatePerMin,
      // Cluster mode: one count per API token across every web server.
      limiter: clusterLink ? new RedisWindowLimiter(clusterLink.redis, 'predict', env.predictRatePerMin, 60_000) : undefined,
      principal: (req) => guard.principal(req),
      log,
    });
    const fileRoutes = async (req: IncomingMessage, res: ServerResponse, url: URL) =>
      (await uploadRoutes(req, res, url)) || (await backboneUpload(req, res, url)) || (await predictionApi(req, res, url)) || imageRoutes(req, res, url);

    const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname === '/api/trpc' || url.pathname.startsWith('/api/trpc/')) {
        trpcHandler(req, res);
        return;
      }
      fileRoutes(req, res, url)
        .then((handled) => (handled ? undefined : handleNext(req, res)))
        .catch((err: unknown) => {
          log.error(`${req.method} ${req.url}: ${errorMessage(err)}`);
          if (!res.headersSent) res.writeHead(500).end('Internal Server Error');
        });
    });

    let bridge: RunnerBridge | null = null;
    const sockets = attachBrowserSockets(server, {
      listEvents: (runId, since) => db.repo.runEvents.list(runId, since),
      runnerStatus: () => bridge!.status(),
      runExists: async (runId) => (await db.repo.runs.get(runId)) !== null,
      guard,
      auth,
      joinLimit: env.socketJoinLimit,
      log,
      // Its own connection: the adapter blocks on XREAD.
      adapter: clusterLink ? createStreamsAdapter(clusterLink.redis.duplicate()) : undefined,
    });
    // After socket.io attached its listeners: every request and upgrade passes the guard first.
    installRequestGuard(server, guard, log);
    bridge = new RunnerBridge({
      repo: db.repo,
      link,
      relay: sockets,
      modelsDir: env.modelsDir,
      runsDir: join(env.dataDir, 'runs'),
      store,
      log: consoleLogger('bridge'),
      restarts: embedded ? embedded.restarts : undefined,
      // The embedded runner shares DATA_DIR, hence its id (runner-id), known before it first connects. In cluster mode
      // no runner is this server's: the id names this web server, the owner of the sweeps it drives.
      runnerId: embedded
        ? resolveRunnerId(env.dataDir, options.childEnv?.RUNNER_ID)
        : env.cluster
          ? `web:${env.cluster.webId}`
          : undefined,
      cluster: clusterLink ? { runners: () => clusterLink.cluster().runners } : undefined,
    });
    const sweeps = new SweepController({ repo: db.repo, runner: bridge, maxRunning: env.sweepMaxRunning, log: consoleLogger('sweeps') });
    ctx = {
      repo: db.repo,
      runner: bridge,
      sweeps,
      paths: { dataDir: env.dataDir, datasetsRoot: env.datasetsRoot, modelsDir: env.modelsDir },
      store,
      datasetPublisher,
      predict: predictor.predict,
      backbones: predictTransport,
      predictionLog,
      alarms,
      sameSplit: new SameSplitScorer({
        repo: db.repo,
        datasetsRoot: env.datasetsRoot,
        modelsDir: env.modelsDir,
        runsDir: join(env.dataDir, 'runs'),
        store,
        predict: predictor.predict,
        batchSize: env.predict.maxImages,
        log,
      }),
      auth,
    };
    bridge.start();
    // Sweeps an earlier process left running become interrupted (resuming is not supported), their runs cancelled.
    await sweeps.recover(bridge.runnerId);
    if (!bridge.runnerId) {
      // An external runner's id is known once it answers: then that runner's sweeps too.
      void link
        .capabilities()
        .then((caps) => (caps.runnerId ? sweeps.recover(caps.runnerId) : undefined))
        .catch((err: unknown) => log.warn(`sweeps left running by an earlier start stay as they are for now: ${errorMessage(err)}`));
    }
    if (clusterLink && env.cluster) {
      // A sweep lives in the loop of the web server that started it: one that is gone for good leaves it to us.
      const presence = await startWebPresence(clusterLink.redis, env.cluster.webId, { log: consoleLogger('cluster') });
      const driverAlive = (driver: string) => (driver.startsWith('web:') ? presence.isAlive(driver.slice('web:'.length)) : Promise.resolve(true));
      const check = () =>
        sweeps.recoverAbandoned(driverAlive).catch((err: unknown) => log.warn(`sweeps of stopped web servers not checked: ${errorMessage(err)}`));
      void check();
      const timer = setInterval(check, ABANDONED_SWEEP_CHECK_MS);
      timer.unref();
      cleanups.push(async () => {
        clearInterval(timer);
        await presence.close();
      });
    }

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(env.port, env.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as AddressInfo).port;
    const shownHost = env.host === '0.0.0.0' || env.host === '127.0.0.1' ? 'localhost' : env.host;
    const url = `http://${shownHost}:${port}`;

    const sampleAbort = new AbortController();
    const sampleReady = env.skipSampleData
      ? Promise.resolve('skipped')
      : ensureSampleDatasets(db.repo, env.datasetsRoot, log, sampleAbort.signal, datasetPublisher.enabled ? datasetPublisher.publishAfterChange : undefined);

    const activeBridge = bridge;
    // Cleanups run in reverse: sample generation, runner + bridge, sockets, HTTP server, then Next, link, db.
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    );
    cleanups.push(() => sockets.close());
    cleanups.push(async () => {
      // The runner's last events (e.g. cancelled runs) still reach the DB: stop the child before the bridge.
      await embedded?.stop();
      await activeBridge.idle();
      activeBridge.stop();
      // Only this server's runner's runs: another web server on the same PostgreSQL keeps its own.
      if (embedded) await activeBridge.interruptOwn('Interrupted: the web server (and its embedded runner) stopped');
    });
    // Before the runner stops: sweep loops must not start trials or count interrupted runs as finished trials.
    cleanups.push(() => sweeps.close());
    cleanups.push(async () => {
      sampleAbort.abort();
      await sampleReady;
    });

    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      bridge: activeBridge,
      db,
      sampleReady,
      close: () => (closing ??= cleanup()),
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
