/**
 * A per-machine exclusive lock: a file created with O_EXCL holding the owner's pid. A lock whose owner is no
 * longer alive (a runner killed mid-materialization) is taken over. Serialises processes on ONE machine,
 * which is what sharing a datasets folder and a cache means.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errCode, tempSibling } from './temp-file.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errCode(err) === 'EPERM';
  }
}

/** Same-process callers queue here first (the pid check cannot tell them apart). */
const local = new Map<string, Promise<void>>();

export async function withLock<T>(file: string, fn: () => Promise<T>, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<T> {
  const before = local.get(file) ?? Promise.resolve();
  let release!: () => void;
  const mine = new Promise<void>((r) => {
    release = r;
  });
  const chained = before.then(() => mine);
  local.set(file, chained);
  try {
    await before;
    await acquire(file, opts.timeoutMs ?? 30 * 60_000, opts.pollMs ?? 100);
    try {
      return await fn();
    } finally {
      await rm(file, { force: true });
    }
  } finally {
    release();
    if (local.get(file) === chained) local.delete(file);
  }
}

async function acquire(file: string, timeoutMs: number, pollMs: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const handle = await open(file, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return;
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isFinite(owner) && owner > 0 && !alive(owner)) {
      // Move the stale lock aside atomically, then check it really was the stale one (not a fresh owner's).
      const aside = tempSibling(file);
      try {
        await rename(file, aside);
        const moved = Number.parseInt(await readFile(aside, 'utf8').catch(() => ''), 10);
        if (moved !== owner) await rename(aside, file).catch(() => undefined);
        else await rm(aside, { force: true });
      } catch {}
      continue;
    }
    if (Date.now() > deadline) throw new Error(`lock ${file} still held by process ${owner || '?'} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
