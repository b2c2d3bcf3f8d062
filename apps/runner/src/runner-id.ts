import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Runner ids name the runner in runs.runner_id and in its status: a short, printable token. */
export const RUNNER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** The file in DATA_DIR that keeps a runner's id across restarts. */
export const RUNNER_ID_FILE = 'runner-id';

function readIdFile(file: string): string | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  const id = text.trim();
  if (!RUNNER_ID_PATTERN.test(id)) {
    throw new Error(`${file} does not hold a valid runner id ("${id.slice(0, 40)}"); delete it to get a new one, or set RUNNER_ID`);
  }
  return id;
}

/**
 * The runner's stable id: `fromEnv` (RUNNER_ID) when given, else the one kept in DATA_DIR/runner-id,
 * created on first start. It survives restarts, so the runs a runner held stay its own: a web server
 * judges (marks interrupted) only the runs of its own runner, never another server's. The embedded
 * runner and its web server share DATA_DIR, so both read the same id.
 */
export function resolveRunnerId(dataDir: string, fromEnv?: string): string {
  if (fromEnv) return fromEnv;
  const file = path.join(dataDir, RUNNER_ID_FILE);
  const existing = readIdFile(file);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true });
  try {
    // Exclusive create: of two processes starting together, both end up with the first one's id.
    writeFileSync(file, `runner-${randomUUID()}\n`, { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readIdFile(file) as string;
}
