/**
 * End-to-end harness: the REAL production web server (built .next, tsx server.ts) as a child process with
 * a temp DATA_DIR, a free port and its embedded runner on another free port; and headless Chromium.
 *
 *   const app = await startApp();            // { url, dataDir, datasetsRoot, trpc(), stop(), restart(), kill() }
 *   const browser = await launchBrowser();   // playwright-core Browser
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const WEB_DIR = join(REPO_ROOT, 'apps/web');

export interface StartAppOptions {
  /** Reuse a data folder (e.g. to restart on the same data); a fresh temp folder by default. */
  dataDir?: string;
  /** Extra environment for the web server (and, inherited, its runner). */
  env?: Record<string, string>;
  /** Web port (a free one by default). */
  port?: number;
  /** Embedded runner port (a free one by default). */
  runnerPort?: number;
  /** Generate the 1800-image sample dataset on start (slow; off by default in tests). */
  sampleData?: boolean;
  /** How long to wait for "defectflow web on …". */
  startTimeoutMs?: number;
  /** The command that starts the server (default `node --import tsx server.ts` in apps/web), e.g. a systemd unit's ExecStart. */
  command?: { file: string; args: string[]; cwd: string };
}

export interface AppHandle {
  url: string;
  port: number;
  dataDir: string;
  datasetsRoot: string;
  /** Everything the server (and its runner) printed so far. */
  logs(): string;
  /** The web server's process id while it runs (fault tests find its runner child from it). */
  pid(): number | null;
  /** Calls a tRPC procedure over HTTP like a browser would; throws with the server's message on error. */
  trpc<T = unknown>(path: string, input?: unknown, kind?: 'query' | 'mutation'): Promise<T>;
  /** Resolves when runner.status says connected. */
  waitForRunner(timeoutMs?: number): Promise<void>;
  /** SIGTERM (graceful), SIGKILL after 20 s. Keeps dataDir. */
  stop(): Promise<void>;
  /** SIGKILL, as in a crash. Keeps dataDir. */
  kill(): Promise<void>;
  /** Stops (if running) and starts again on the same port and DATA_DIR. */
  restart(): Promise<void>;
  /** stop() and delete the temp DATA_DIR when the harness created it. */
  dispose(): Promise<void>;
}

/** A TCP port that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startApp(options: StartAppOptions = {}): Promise<AppHandle> {
  const ownsDataDir = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'defectflow-e2e-'));
  const datasetsRoot = join(dataDir, 'datasets');
  const port = options.port ?? (await freePort());
  let runnerPort = options.runnerPort ?? (await freePort());
  // The OS may hand out the port it just gave for the web server again (both were free a moment ago).
  while (runnerPort === port) runnerPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  let output = '';

  const launch = async () => {
    let ready!: () => void;
    let failed!: (err: Error) => void;
    const started = new Promise<void>((res, rej) => {
      ready = res;
      failed = rej;
    });
    // `--import tsx` resolves from the cwd (apps/web → the root node_modules), like scripts/start.sh.
    const command = options.command ?? { file: process.execPath, args: ['--import', 'tsx', 'server.ts'], cwd: WEB_DIR };
    const proc = spawn(command.file, command.args, {
      cwd: command.cwd,
      env: {
        ...process.env,
        NODE_ENV: 'production',
        NEXT_TELEMETRY_DISABLED: '1',
        WEB_DEV: '',
        PORT: String(port),
        HOST: '127.0.0.1',
        RUNNER_PORT: String(runnerPort),
        RUNNER_URL: '',
        RUNNER_TOKEN: '',
        DATABASE_URL: '',
        DATA_DIR: dataDir,
        DATASETS_ROOT: datasetsRoot,
        SKIP_SAMPLE_DATA: options.sampleData ? '' : '1',
        ...options.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    const from = output.length; // only this launch's lines count (restart appends to the same log)
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.indexOf('defectflow web on ', from) !== -1) ready();
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code, signal) => {
      if (child === proc) child = null;
      failed(new Error(`web server exited (${signal ?? `code ${code}`}) before it was ready:\n${output.slice(-4000)}`));
    });
    const timeoutMs = options.startTimeoutMs ?? 90_000;
    const timer = setTimeout(() => failed(new Error(`web server not ready after ${timeoutMs} ms:\n${output.slice(-4000)}`)), timeoutMs);
    try {
      await started;
    } finally {
      clearTimeout(timer);
    }
  };

  const terminate = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      proc.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      proc.kill(signal);
    });
    child = null;
  };

  const trpc = async <T>(path: string, input?: unknown, kind: 'query' | 'mutation' = 'query'): Promise<T> => {
    const res =
      kind === 'query'
        ? await fetch(`${url}/api/trpc/${path}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`)
        : await fetch(`${url}/api/trpc/${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(input ?? null),
          });
    const body = (await res.json()) as { result?: { data: T }; error?: { message: string; data?: { code?: string } } };
    if (body.error) throw new Error(`${path}: ${body.error.data?.code ?? res.status} ${body.error.message}`);
    return body.result!.data;
  };

  await launch();

  const handle: AppHandle = {
    url,
    port,
    dataDir,
    datasetsRoot,
    logs: () => output,
    pid: () => (child as ChildProcess | null)?.pid ?? null,
    trpc,
    async waitForRunner(timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const status = await trpc<{ connected: boolean }>('runner.status').catch(() => null);
        if (status?.connected) return;
        if (Date.now() > deadline) throw new Error(`runner not connected after ${timeoutMs} ms:\n${output.slice(-4000)}`);
        await sleep(250);
      }
    },
    stop: () => terminate('SIGTERM'),
    kill: () => terminate('SIGKILL'),
    async restart() {
      await terminate('SIGTERM');
      await launch();
    },
    async dispose() {
      await terminate('SIGTERM');
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Headless Chromium with nothing that phones home. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** A small synthetic dataset (3 classes) under the app's DATASETS_ROOT, for runs that must finish fast. */
export async function createTinyDataset(app: AppHandle, name = 'tiny', perClass = 12): Promise<string> {
  const engine = (await import('@defectflow/engine')) as {
    generateSampleDataset(dir: string, o: { perClass: number; size: number; seed: number; classes: string[] }): Promise<unknown>;
  };
  await engine.generateSampleDataset(join(app.datasetsRoot, name), {
    perClass,
    size: 64,
    seed: 7,
    classes: ['crazing', 'inclusion', 'scratches'],
  });
  return name;
}
