/**
 * The bound on a machine's content-addressed blob cache (casDir). A blob hard-linked into a materialized dataset
 * is the same inode as the dataset's file, so it costs no space of its own and is never removed; only blobs no
 * dataset folder links to any more (a file replaced or removed by a newer version, a dataset deleted, or copies
 * across file systems) count, and past `maxBytes` they go, least recently used first. A blob used within
 * `minIdleMs` is kept whatever the cap: another process on the machine may be about to link it.
 */
import { readdir, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { SHA256_HEX } from './hash.ts';

export const BLOB_CACHE_MIN_IDLE_MS = 10 * 60_000;

export interface PruneBlobCacheOptions {
  maxBytes: number;
  minIdleMs?: number;
  now?: number;
}

export interface PruneBlobCacheResult {
  /** Bytes of blobs no dataset links to, before and after. */
  unlinkedBytes: number;
  keptBytes: number;
  removed: number;
  freedBytes: number;
}

/** Marks a cached blob used now (its access time; the modification time is shared with the linked dataset file). */
export async function touchBlob(file: string, mtime: Date): Promise<void> {
  await utimes(file, new Date(), mtime).catch(() => undefined);
}

export async function pruneBlobCache(casDir: string, opts: PruneBlobCacheOptions): Promise<PruneBlobCacheResult> {
  const now = opts.now ?? Date.now();
  const minIdleMs = opts.minIdleMs ?? BLOB_CACHE_MIN_IDLE_MS;
  const names = await readdir(casDir).catch(() => [] as string[]);
  const unlinked: { file: string; size: number; usedAt: number }[] = [];
  for (const name of names) {
    if (!SHA256_HEX.test(name)) continue;
    const file = join(casDir, name);
    const s = await stat(file).catch(() => null);
    if (!s?.isFile() || s.nlink > 1) continue;
    unlinked.push({ file, size: s.size, usedAt: Math.max(s.atimeMs, s.mtimeMs) });
  }
  const unlinkedBytes = unlinked.reduce((sum, b) => sum + b.size, 0);
  const result: PruneBlobCacheResult = { unlinkedBytes, keptBytes: unlinkedBytes, removed: 0, freedBytes: 0 };
  unlinked.sort((a, b) => a.usedAt - b.usedAt);
  for (const blob of unlinked) {
    if (result.keptBytes <= opts.maxBytes) break;
    if (now - blob.usedAt < minIdleMs) break; // the rest are newer still
    await rm(blob.file, { force: true });
    result.removed++;
    result.freedBytes += blob.size;
    result.keptBytes -= blob.size;
  }
  return result;
}
