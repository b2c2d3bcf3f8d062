/**
 * The embedded runner: `apps/runner/src/main.ts` run as a child process (through tsx's loader), restarted
 * with backoff when it dies, stopped with the web server. The web server picks its port and token; the child stops by itself if the web server dies.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from './log.ts';

export interface EmbeddedRunnerOptions {
  repoRoot: string;
  /** Preferred port; when taken (or 0) a free one is used. */
  port: number;
  host?: string;
  token: string;
  dataDir: string;
  datasetsRoot: string;
  /** Environment the child inherits (PATH, RUNNER_BACKEND, …); our variables override it. */
  baseEnv: Record<string, string | undefined>;
  log: Logger;
  /** Script to run (tests); the runner's entry by default. */
  entry?: string;
}

export interface EmbeddedRunner {
  url: string;
  port: number;
  restarts(): number;
  stop(): Promise<void>;
}

/** Resolves `preferred` when it can be bound on host, otherwise a port the OS picks. */
export async function pickPort(preferred: number, host = '127.0.0.1'): Promise<number> {
  const tryListen = (port: number) =>
    new Promise<number | null>((resolve) => {
      const srv = createServer();
      srv.once('error', () => resolve(null));
      srv.listen(port, host, () => {
        const address = srv.address();
        const got = typeof address === 'object' && address ? address.port : null;
        srv.close(() => resolve(got));
      });
    });
  if (preferred > 0) {
    const got = await tryListen(preferred);
    if (got) return got;
  }
  const free = await tryListen(0);
  if (!free) throw new Error('no free TCP port for the embedded runner');
  return free;
}

export async function startEmbeddedRunner(opts: EmbeddedRunnerOptions): Promise<EmbeddedRunner> {
  const host = opts.host ?? '127.0.0.1';
  const port = await pickPort(opts.port, host);
  const url = `http://${host}:${port}`;
  // tsx's ESM loader, resolved from here so any cwd works (same as `node --import tsx`).
  const tsxLoader = import.meta.resolve('tsx');
  const entry = opts.entry ?? join(opts.repoRoot, 'apps/web/server/runner-child.ts');
  let child: ChildProcess | null = null;
  let stopping = false;
  let restarts = 0;
  let backoffMs = 1_000;
  let restartTimer: NodeJS.Timeout | null = null;

  const pipeLines = (stream: NodeJS.ReadableStream | null, write: (line: string) => void) => {
    if (stream) createInterface({ input: stream }).on('line', write);
  };

  const launch = () => {
    const startedAt = Date.now();
    const proc = spawn(process.execPath, ['--import', tsxLoader, entry], {
      cwd: opts.repoRoot,
      env: {
        ...opts.baseEnv,
        NODE_ENV: opts.baseEnv.NODE_ENV === 'development' || opts.baseEnv.NODE_ENV === 'test' ? opts.baseEnv.NODE_ENV : 'production',
        RUNNER_PORT: String(port),
        RUNNER_HOST: host,
        RUNNER_TOKEN: opts.token,
        DATA_DIR: opts.dataDir,
        DATASETS_ROOT: opts.datasetsRoot,
      },
      // stdin is a pipe we never write: the child exits when it closes (see runner-child.ts).
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child = proc;
    const tag = (l: string) => (l.startsWith('[runner]') ? l : `[runner] ${l}`);
    pipeLines(proc.stdout, (l) => console.log(tag(l)));
    pipeLines(proc.stderr, (l) => console.error(tag(l)));
    proc.on('error', (err) => opts.log.error(`embedded runner could not start: ${err.message}`));
    proc.on('exit', (code, signal) => {
      child = null;
      if (stopping) return;
      // A runner that stayed up a minute earns a fresh backoff; a crash loop backs off up to 30 s.
      if (Date.now() - startedAt > 60_000) backoffMs = 1_000;
      // Ctrl-C signals the whole process group: the runner may exit just before our own shutdown
      // starts. Waiting a little longer after a clean exit lets stop() cancel the restart.
      const clean = code === 0 || signal === 'SIGINT' || signal === 'SIGTERM';
      const delay = clean ? Math.max(backoffMs, 3_000) : backoffMs;
      opts.log.warn(`embedded runner exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`);
      restartTimer = setTimeout(() => {
        restartTimer = null;
        restarts++;
        launch();
      }, delay);
      backoffMs = Math.min(backoffMs * 2, 30_000);
    });
  };

  // Last resort if the web server dies without a clean stop: never leave an orphaned runner behind.
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  launch();
  opts.log.info(`embedded runner starting on ${url}`);

  return {
    url,
    port,
    restarts: () => restarts,
    async stop() {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      process.off('exit', killOnExit);
      const proc = child;
      if (!proc || proc.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        proc.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        proc.kill('SIGTERM');
      });
    },
  };
}
