/**
 * A throwaway PostgreSQL server of its own (initdb in a temp folder, pg_ctl start/stop) for tests that stop
 * the database mid-run: stopping the shared cluster of TEST_DATABASE_URL would break other suites.
 * The binaries come from TEST_PG_BINDIR (scripts/test.sh exports it) or /usr/lib/postgresql/<newest>/bin.
 * initdb refuses to run as root, so as root every PostgreSQL command runs as the `postgres` user (runuser).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './harness.ts';

export const HOW_TO_GET_POSTGRES =
  'The PostgreSQL fault test needs the PostgreSQL server binaries (initdb, pg_ctl): install the Debian package ' +
  '`postgresql` (.ci/run does) or set TEST_PG_BINDIR to the folder holding them; run it through `npm test`, which exports TEST_PG_BINDIR.';

export function findPgBinDir(): string {
  const fromEnv = process.env.TEST_PG_BINDIR;
  if (fromEnv && existsSync(join(fromEnv, 'initdb'))) return fromEnv;
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!versions[0]) throw new Error(HOW_TO_GET_POSTGRES);
  return join(base, versions[0], 'bin');
}

export interface PgServer {
  url: string;
  port: number;
  /** Stops the server (`-m fast`: open connections are cut, as when an operator restarts it). */
  stop(): void;
  start(): void;
  dispose(): void;
}

export async function startPgServer(): Promise<PgServer> {
  const bin = findPgBinDir();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'defectflow-pg-'));
  const data = join(dir, 'data');
  const port = await freePort();
  if (asRoot) {
    const pgUid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const pgGid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, pgUid, pgGid);
  }
  const pg = (tool: string, args: string[]) => {
    const cmd = join(bin, tool);
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
    return execFileSync(file, argv, { stdio: 'pipe', cwd: dir, timeout: 60_000 }).toString();
  };
  pg('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const start = () => pg('pg_ctl', ['-D', data, '-o', options, '-l', join(dir, 'log'), '-w', '-t', '60', 'start']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop: () => pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']),
    start,
    dispose() {
      try {
        pg('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        // not running
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
