import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import { errorMessage, throwIfAborted } from '../errors.ts';
import { type ImageHeader, checkImageDecodes, defaultConcurrency, readImageHeader } from '../image-io.ts';
import type { ScannedFile } from './types.ts';

/** Runs fn over items with at most `limit` in flight; results keep input order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (;;) {
      throwIfAborted(signal);
      const i = next++;
      if (i >= items.length) return;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}

export interface FileFacts {
  file: ScannedFile;
  bytes: number;
  mtimeMs: number;
  header?: ImageHeader;
  /** Why the image check failed. */
  unreadable?: string;
  missing?: boolean;
}

/** How much of each image the check reads: every pixel, the header only, or nothing. */
export type ImageCheck = 'decode' | 'header' | 'none';

/**
 * stat + an image check of every file: 'decode' (a full decode, so truncated or corrupt pixel data
 * is found here rather than half-way through training), 'header' (sharp metadata only) or 'none'.
 * Decodes run on sharp's libuv pool; twice its size in flight keeps it fed.
 */
export async function inspectFiles(
  files: readonly ScannedFile[],
  opts: { check: ImageCheck; maxPixels?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<FileFacts[]> {
  let done = 0;
  const check = opts.check === 'decode' ? checkImageDecodes : opts.check === 'header' ? readImageHeader : null;
  return mapLimit(
    files,
    check ? defaultConcurrency() * 2 : 16,
    async (file) => {
      const facts: FileFacts = { file, bytes: 0, mtimeMs: 0 };
      try {
        const st = await fs.stat(file.path);
        facts.bytes = st.size;
        facts.mtimeMs = Math.floor(st.mtimeMs);
      } catch {
        facts.missing = true;
      }
      if (!facts.missing && check) {
        try {
          facts.header = await check(file.path, { maxPixels: opts.maxPixels });
        } catch (err) {
          facts.unreadable = (err as { reason?: string }).reason ?? errorMessage(err);
        }
      }
      opts.onProgress?.(++done, files.length);
      return facts;
    },
    opts.signal,
  );
}

/**
 * Groups of byte-identical files. Only files that share a byte size are hashed (sha1), so a
 * dataset without duplicates costs one stat per file, not a full read.
 */
export async function findDuplicates(facts: readonly FileFacts[], signal?: AbortSignal): Promise<FileFacts[][]> {
  const bySize = new Map<number, FileFacts[]>();
  for (const f of facts) {
    const list = bySize.get(f.bytes);
    if (list) list.push(f);
    else bySize.set(f.bytes, [f]);
  }
  const candidates = [...bySize.values()].filter((g) => g.length > 1).flat();
  const hashes = await mapLimit(
    candidates,
    8,
    async (f) => createHash('sha1').update(await fs.readFile(f.file.path)).digest('hex'),
    signal,
  );
  const byHash = new Map<string, FileFacts[]>();
  candidates.forEach((f, i) => {
    const h = `${f.bytes}:${hashes[i]}`;
    const list = byHash.get(h);
    if (list) list.push(f);
    else byHash.set(h, [f]);
  });
  return [...byHash.values()].filter((g) => g.length > 1);
}
