/**
 * A throwaway redis-server for tests (Debian's `redis-server`, which .ci/run installs): its own port on loopback,
 * no persistence, stopped by `stop()`. Shared by the runner's cluster tests and the multi-process end-to-end test.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export const HOW_TO_GET_REDIS =
  'The cluster tests need redis-server: install the Debian package `redis-server` (.ci/run does) or put it on PATH (REDIS_SERVER_BIN)';

function findRedisServer(): string {
  const candidates = [process.env.REDIS_SERVER_BIN, '/usr/bin/redis-server', '/usr/local/bin/redis-server'].filter(Boolean) as string[];
  for (const c of candidates) if (existsSync(c)) return c;
  try {
    return execFileSync('sh', ['-c', 'command -v redis-server']).toString().trim() || 'redis-server';
  } catch {
    throw new Error(HOW_TO_GET_REDIS);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface RedisServer {
  url: string;
  port: number;
  /** Everything it printed (for a failure's message). */
  logs(): string;
  stop(): Promise<void>;
}

export async function startRedisServer(): Promise<RedisServer> {
  const bin = findRedisServer();
  const port = await freePort();
  let output = '';
  const proc: ChildProcess = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  proc.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
    const check = setInterval(() => {
      if (output.includes('Ready to accept connections')) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 50);
    proc.once('error', (err) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`${HOW_TO_GET_REDIS} (${err.message})`));
    });
    proc.once('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`redis-server exited with code ${code}:\n${output}`));
    });
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    logs: () => output,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}
