/**
 * The web server's HTTP side as app.ts assembles it — request guard in front of tRPC, file and upload routes and
 * socket.io; AuthService on a PGlite database in a temp dir — without Next.js and with a scripted runner; plus a
 * raw HTTP client that sets any header (Host, Origin, Cookie) and a few tRPC-over-HTTP helpers.
 */
import { request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDb, type DbHandle } from '@defectflow/db';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { appendSetCookie } from '../server/auth/cookies.ts';
import { installRequestGuard, RequestGuard } from '../server/auth/request-guard.ts';
import { type AuthConfig, AuthService } from '../server/auth/service.ts';
import { createDatasetUploadRoutes } from '../server/datasets/upload.ts';
import { createFileRoutes } from '../server/http-files.ts';
import type { Logger } from '../server/log.ts';
import { createPredictionApiRoutes } from '../server/predictions/api-routes.ts';
import { PredictionLog, type PredictionLogOptions } from '../server/predictions/log.ts';
import { SameSplitScorer } from '../server/reviews/same-split.ts';
import { appRouter } from '../server/router.ts';
import { attachBrowserSockets, type BrowserSockets } from '../server/sockets.ts';
import { SweepController } from '../server/sweeps/controller.ts';
import type { PredictFn, RunnerControl, WebContext } from '../server/trpc.ts';
import { FakeRunnerControl, tempDir } from './helpers.ts';

export interface TestServerOptions {
  auth?: Partial<AuthConfig>;
  /** A runner control, or one built on the server's database and sockets (a RunnerBridge relaying to them). */
  runner?: RunnerControl | ((db: DbHandle, sockets: BrowserSockets) => RunnerControl);
  /** DATASETS_ROOT (default: data/datasets in the server's temp dir). */
  datasetsRoot?: string;
  joinLimit?: number;
  trustProxy?: boolean;
  /** The prediction worker (default: answers nothing) and the prediction API's and log's settings. */
  predict?: PredictFn;
  predictionLog?: Partial<Omit<PredictionLogOptions, 'repo' | 'dir' | 'log'>>;
  predictLimits?: { maxImages: number; maxImageBytes: number };
  predictRatePerMin?: number;
}

export interface TestServer {
  base: string;
  port: number;
  db: DbHandle;
  auth: AuthService;
  runner: RunnerControl;
  sweeps: SweepController;
  sockets: BrowserSockets;
  predictionLog: PredictionLog;
  /** The reviews.comparison scorer (its background scorings can be awaited). */
  sameSplit: SameSplitScorer;
  paths: WebContext['paths'];
  /** Every line the server logged. */
  logs: string[];
  close(): Promise<void>;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const dir = tempDir('df-auth-');
  const db = await createDb({ dataDir: join(dir, 'data') });
  const logs: string[] = [];
  const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  const auth = new AuthService(
    db.repo,
    {
      enabled: true,
      sessionTtlMs: 12 * 3_600_000,
      sessionMaxMs: 7 * 86_400_000,
      signInMaxFailures: 10,
      signInWindowMs: 15 * 60_000,
      ...options.auth,
    },
    log,
  );
  await auth.bootstrap();
  const guard = new RequestGuard({ auth, allowedHosts: ['127.0.0.1'], trustProxy: options.trustProxy });
  let runner: RunnerControl = new FakeRunnerControl();
  const paths = {
    dataDir: join(dir, 'data'),
    datasetsRoot: options.datasetsRoot ?? join(dir, 'data', 'datasets'),
    modelsDir: join(dir, 'data', 'models'),
  };
  const predict: PredictFn = options.predict ?? (async () => []);
  const predictionLog = new PredictionLog({
    repo: db.repo,
    dir: join(paths.dataDir, 'predictions'),
    sampleRate: 0.05,
    lowConfidence: 0.6,
    imagesMaxBytes: 1024 ** 3,
    retentionDays: 90,
    log,
    ...options.predictionLog,
  });
  const sameSplit = new SameSplitScorer({
    repo: db.repo,
    datasetsRoot: paths.datasetsRoot,
    modelsDir: paths.modelsDir,
    runsDir: join(paths.dataDir, 'runs'),
    predict,
    batchSize: options.predictLimits?.maxImages ?? 32,
    log,
  });
  const deps: Omit<WebContext, 'principal' | 'http' | 'runner' | 'sweeps'> = { repo: db.repo, paths, predict, predictionLog, sameSplit, auth };
  let sweeps = new SweepController({ repo: db.repo, runner, maxRunning: 4, log });
  const trpc = createHTTPHandler({
    router: appRouter,
    basePath: '/api/trpc/',
    createContext: async ({ req, res }): Promise<WebContext> => ({
      ...deps,
      runner,
      sweeps,
      principal: await guard.principal(req),
      http: { client: guard.clientMeta(req), setCookie: (c) => appendSetCookie(res, c) },
    }),
  });
  const files = createFileRoutes({ repo: db.repo, datasetsRoot: paths.datasetsRoot, modelsDir: paths.modelsDir, log, predictionLog });
  const uploads = createDatasetUploadRoutes({ repo: db.repo, datasetsRoot: paths.datasetsRoot, log });
  const predictionApi = createPredictionApiRoutes({
    repo: db.repo,
    predict,
    predictionLog,
    modelsDir: paths.modelsDir,
    limits: options.predictLimits ?? { maxImages: 32, maxImageBytes: 20 * 1024 ** 2 },
    ratePerMin: options.predictRatePerMin ?? 600,
    principal: (req) => guard.principal(req),
    log,
  });
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/trpc/')) return trpc(req, res);
    void (async () =>
      (await uploads(req, res, url)) || (await predictionApi(req, res, url)) || (await files(req, res, url)) || res.writeHead(404).end('page'))();
  });
  const sockets = attachBrowserSockets(server, {
    listEvents: (runId, since) => db.repo.runEvents.list(runId, since),
    runnerStatus: () => runner.status(),
    runExists: async (runId) => (await db.repo.runs.get(runId)) !== null,
    guard,
    auth,
    joinLimit: options.joinLimit ?? 30,
    log,
  });
  if (typeof options.runner === 'function') runner = options.runner(db, sockets);
  else if (options.runner) runner = options.runner;
  sweeps = new SweepController({ repo: db.repo, runner, maxRunning: 4, log });
  installRequestGuard(server, guard, log);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    base: `http://127.0.0.1:${port}`,
    port,
    db,
    auth,
    runner,
    sweeps,
    sockets,
    predictionLog,
    sameSplit,
    paths,
    logs,
    async close() {
      await sameSplit.settled();
      await sweeps.close();
      predictionLog.close();
      await sockets.close();
      uploads.close();
      auth.close();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
      await db.close();
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTP request with exactly these headers (fetch would not let a test set Host). */
export function raw(
  port: number,
  method: string,
  path: string,
  headers: Record<string, string | undefined> = {},
  body?: string | Buffer,
): Promise<RawResponse> {
  const defined = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: { host: `127.0.0.1:${port}`, ...defined } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A browser-like client: its cookie, the server's own Origin on mutations, optional extra headers. */
export class Client {
  cookie: string | undefined;
  constructor(
    readonly server: TestServer,
    readonly headers: Record<string, string | undefined> = {},
  ) {}

  get origin(): string {
    return this.server.base;
  }

  private send(method: string, path: string, extra: Record<string, string | undefined> = {}, body?: string | Buffer) {
    const headers = { cookie: this.cookie ? `df_session=${this.cookie}` : undefined, ...this.headers, ...extra };
    return raw(this.server.port, method, path, headers, body).then((res) => {
      for (const line of [res.headers['set-cookie'] ?? []].flat()) {
        const m = /^df_session=([^;]*)/.exec(line);
        if (m) this.cookie = m[1] || undefined;
      }
      return res;
    });
  }

  query(path: string, input?: unknown, extra: Record<string, string | undefined> = {}) {
    const q = input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`;
    return this.send('GET', `/api/trpc/${path}${q}`, extra).then(parseTrpc);
  }

  mutate(path: string, input?: unknown, extra: Record<string, string | undefined> = {}) {
    return this.send(
      'POST',
      `/api/trpc/${path}`,
      { origin: this.origin, 'content-type': 'application/json', ...extra },
      JSON.stringify(input ?? null),
    ).then(parseTrpc);
  }

  http(method: string, path: string, extra: Record<string, string | undefined> = {}, body?: string | Buffer) {
    const origin = method === 'GET' || method === 'HEAD' ? {} : { origin: this.origin };
    return this.send(method, path, { ...origin, ...extra }, body);
  }

  async signIn(username: string, password: string) {
    const res = await this.mutate('auth.signIn', { username, password });
    if (res.status !== 200) throw new Error(`sign-in of ${username} failed: ${res.status} ${res.message}`);
    return res;
  }
}

export interface TrpcResponse {
  status: number;
  headers: IncomingHttpHeaders;
  data?: unknown;
  code?: string;
  message?: string;
  raw: string;
}

function parseTrpc(res: RawResponse): TrpcResponse {
  let json: { result?: { data: unknown }; error?: { message: string; data?: { code?: string } } } = {};
  try {
    json = JSON.parse(res.body);
  } catch {
    // not JSON: the status says enough
  }
  return {
    status: res.status,
    headers: res.headers,
    data: json.result?.data,
    code: json.error?.data?.code,
    message: json.error?.message,
    raw: res.body,
  };
}
