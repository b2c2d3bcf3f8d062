/**
 * PGlite is a single-connection database: two processes writing one data directory corrupt it.
 * The second opener fails with DatabaseLockedError naming the holder instead.
 *
 * On Linux the lock is an abstract-namespace Unix socket named after the directory
 * (`\0defectflow-pglite-<sha256>`): listening on it succeeds for one process only, and the kernel
 * frees it the moment that process dies (even SIGKILL) — no stale lock, no pid-reuse guess, no race
 * between two takeovers. The holder answers a connection with its pid, host and start time. The
 * lock file next to the directory is then only a note for humans. Elsewhere the lock file itself is
 * the lock (exclusive create; a dead holder's file is taken over).
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, realpathSync, statSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';

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

function parseInfo(text: string): LockInfo | null {
  try {
    const info = JSON.parse(text) as Partial<LockInfo>;
    return typeof info.pid === 'number' ? (info as LockInfo) : null;
  } catch {
    return null;
  }
}

function readLock(path: string): LockInfo | null {
  try {
    return parseInfo(readFileSync(path, 'utf8'));
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
    const elsewhere = holder.hostname !== hostname() && holder.hostname !== 'unknown';
    super(
      `The embedded database (PGlite) at ${dataDir} is already open by process ${holder.pid} on ${holder.hostname} ` +
        `(since ${holder.startedAt}; lock file ${lockPath}). PGlite allows one process at a time: stop the other ` +
        'defectflow process, use a different DATA_DIR, or set DATABASE_URL to a PostgreSQL server that several processes can share.' +
        (elsewhere ? ` The holder is another machine or container sharing the disk; if it is gone, delete ${lockPath}.` : ''),
    );
    this.name = 'DatabaseLockedError';
  }
}

/** Takes the lock or throws DatabaseLockedError. Returns the release function. */
export async function acquireDirLock(dataDir: string, lockPath: string): Promise<() => void> {
  if (process.platform === 'linux') return acquireSocketLock(dataDir, lockPath);
  return acquireFileLock(dataDir, lockPath);
}

/** The abstract socket name for a directory: the same for every path that reaches it (symlinks resolved). */
export function lockSocketName(dataDir: string): string {
  const absolute = resolve(dataDir);
  let canonical = absolute;
  try {
    canonical = join(realpathSync(dirname(absolute)), basename(absolute));
  } catch {
    // the parent does not exist yet: the path as given
  }
  return `\0defectflow-pglite-${createHash('sha256').update(canonical).digest('hex')}`;
}

function listen(server: Server, name: string): Promise<NodeJS.ErrnoException | null> {
  return new Promise((done) => {
    server.once('error', (err: NodeJS.ErrnoException) => done(err));
    server.listen({ path: name, exclusive: true }, () => done(null));
  });
}

/** Asks the process listening on the lock who it is (null when it does not answer within a second). */
function askHolder(name: string): Promise<LockInfo | null> {
  return new Promise((done) => {
    let text = '';
    const socket = connect({ path: name });
    const timer = setTimeout(() => socket.destroy(), 1_000);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      done(parseInfo(text));
    });
  });
}

async function acquireSocketLock(dataDir: string, lockPath: string): Promise<() => void> {
  const name = lockSocketName(dataDir);
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
  const server = createServer((socket) => socket.end(JSON.stringify(info)));
  const failure = await listen(server, name);
  if (failure) {
    if (failure.code !== 'EADDRINUSE') throw failure;
    const holder = (await askHolder(name)) ?? readLock(lockPath) ?? { pid: -1, hostname: 'unknown', startedAt: 'unknown' };
    throw new DatabaseLockedError(dataDir, lockPath, holder);
  }
  // The socket is the lock on this machine; a note from another host that shares the disk is still honoured.
  const note = readLock(lockPath);
  if (note && note.hostname !== hostname()) {
    server.close();
    throw new DatabaseLockedError(dataDir, lockPath, note);
  }
  server.unref();
  writeFileSync(lockPath, JSON.stringify(info));
  held.add(lockPath);
  installExitHook();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    server.close();
    removeIfOurs(lockPath);
  };
}

/** The portable fallback: the lock file, created exclusively; a file whose holder is dead is taken over. */
function acquireFileLock(dataDir: string, lockPath: string): () => void {
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
