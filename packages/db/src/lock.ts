/**
 * PGlite is a single-connection database: two processes writing one data directory corrupt it.
 * An exclusive lock file next to the directory (pid + hostname) makes the second opener fail
 * with a clear message instead. A lock left by a dead process is taken over.
 */
import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';

interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
}

/** Lock files this process holds (removed on exit even when close() was never called). */
const held = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const path of held) removeIfOurs(path);
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    return typeof info.pid === 'number' ? (info as LockInfo) : null;
  } catch {
    return null;
  }
}

/** True when the holder recorded in the lock is a live process other than a forgotten earlier life of ours. */
function holderIsLive(info: LockInfo, path: string): boolean {
  if (info.hostname !== hostname()) return true; // another machine sharing the disk: cannot check, assume live
  if (info.pid === process.pid) return held.has(path); // a container restart can reuse our pid
  return isAlive(info.pid);
}

function isFresh(path: string): boolean {
  try {
    return Date.now() - statSync(path).mtimeMs < 5_000;
  } catch {
    return false;
  }
}

function removeIfOurs(path: string): void {
  const info = readLock(path);
  if (info && info.pid === process.pid && info.hostname === hostname()) {
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  held.delete(path);
}

export class DatabaseLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly lockPath: string,
    readonly holder: LockInfo,
  ) {
    super(
      `The embedded database (PGlite) at ${dataDir} is already open by process ${holder.pid} on ${holder.hostname} ` +
        `(since ${holder.startedAt}; lock file ${lockPath}). PGlite allows one process at a time: stop the other ` +
        'defectflow process, use a different DATA_DIR, or set DATABASE_URL to a PostgreSQL server that several processes can share.',
    );
    this.name = 'DatabaseLockedError';
  }
}

/** Takes the lock or throws DatabaseLockedError. Returns the release function. */
export function acquireDirLock(dataDir: string, lockPath: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx');
      const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      held.add(lockPath);
      installExitHook();
      return () => removeIfOurs(lockPath);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const info = readLock(lockPath);
      if (info && holderIsLive(info, lockPath)) throw new DatabaseLockedError(dataDir, lockPath, info);
      if (!info && isFresh(lockPath)) {
        // Another opener is between creating and writing the file.
        throw new DatabaseLockedError(dataDir, lockPath, { pid: -1, hostname: 'unknown', startedAt: 'just now' });
      }
      // Stale (dead holder) or half-written lock: remove and retry.
      try {
        unlinkSync(lockPath);
      } catch {
        // someone else removed it first
      }
    }
  }
  throw new Error(`Could not take the database lock ${lockPath}: it keeps reappearing; another process is opening ${dataDir}.`);
}
