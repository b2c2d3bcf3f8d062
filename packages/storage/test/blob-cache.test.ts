import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BLOB_CACHE_MIN_IDLE_MS, FsStore, materializeDataset, publishDataset, pruneBlobCache } from '../src/index.ts';

const tmp = (what: string) => mkdtempSync(join(tmpdir(), `df-blobs-${what}-`));
const blobs = async (cas: string) => (await readdir(cas)).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
const later = Date.now() + BLOB_CACHE_MIN_IDLE_MS + 60_000;

/** Four files of 1000, 2000, 3000 and 4000 bytes, each its own content. */
async function makeDataset(root: string, name: string, tag: string): Promise<void> {
  await mkdir(join(root, name, 'good'), { recursive: true });
  for (const k of [1, 2, 3, 4]) await writeFile(join(root, name, 'good', `${k}.bin`), Buffer.alloc(k * 1000, `${tag}${k}`));
}

describe('the blob cache bound (BLOB_CACHE_MAX_BYTES)', () => {
  it('removes blobs no dataset links any more, least recently used first, down to the cap; linked ones stay; a later materialize fetches back only what it needs', async () => {
    const web = tmp('web');
    const store = new FsStore(tmp('store'));
    const machine = tmp('machine');
    const cas = join(machine, 'cas');
    const datasets = join(machine, 'datasets');
    await makeDataset(web, 'steel', 'v1-');
    await publishDataset(store, web, 'steel');
    await materializeDataset(store, datasets, 'steel', cas);
    const v1 = await blobs(cas);
    expect(v1).toHaveLength(4);

    // Nothing unlinked yet: even a zero cap keeps every blob (they are the dataset's own files).
    expect(await pruneBlobCache(cas, { maxBytes: 0, now: later })).toMatchObject({ unlinkedBytes: 0, removed: 0 });
    expect(await blobs(cas)).toEqual(v1);

    // Version 2 replaces every file: v1's four blobs are left unlinked (10 000 bytes).
    await rm(join(web, 'steel'), { recursive: true });
    await makeDataset(web, 'steel', 'v2-');
    await publishDataset(store, web, 'steel');
    const r = await materializeDataset(store, datasets, 'steel', cas, { cacheMaxBytes: 0 });
    // Just used: the bound waits BLOB_CACHE_MIN_IDLE_MS before removing them (another process may be linking one).
    expect(r.cache).toMatchObject({ unlinkedBytes: 10_000, removed: 0 });
    expect(await blobs(cas)).toHaveLength(8);

    // Use order of the unlinked ones: 4000 B oldest, then 1000 B, 3000 B, 2000 B most recent.
    const sizeOf = async (sha: string) => (await stat(join(cas, sha))).size;
    const bySize = new Map<number, string>();
    for (const sha of v1) bySize.set(await sizeOf(sha), sha);
    const t0 = Date.now() / 1000 - 3600;
    for (const [size, age] of [[4000, 0], [1000, 10], [3000, 20], [2000, 30]] as const) {
      const f = join(cas, bySize.get(size)!);
      await utimes(f, t0 + age, t0);
    }
    const pruned = await pruneBlobCache(cas, { maxBytes: 5500, now: later });
    expect(pruned).toEqual({ unlinkedBytes: 10_000, keptBytes: 5000, removed: 2, freedBytes: 5000 });
    const left = await blobs(cas);
    expect(left).toHaveLength(6);
    expect(left).toContain(bySize.get(3000));
    expect(left).toContain(bySize.get(2000));
    expect(left).not.toContain(bySize.get(4000));
    expect(left).not.toContain(bySize.get(1000));
    // v2's files are intact.
    for (const k of [1, 2, 3, 4]) expect((await stat(join(datasets, 'steel', 'good', `${k}.bin`))).nlink).toBe(2);

    // Back to v1 (a rollback): the two kept blobs are reused, the two removed ones fetched again.
    await rm(join(web, 'steel'), { recursive: true });
    await makeDataset(web, 'steel', 'v1-');
    await publishDataset(store, web, 'steel');
    const back = await materializeDataset(store, datasets, 'steel', cas);
    expect(back).toMatchObject({ fetchedBlobs: 2, fetchedBytes: 5000, placed: 4 });
    // Reusing a cached blob marks it used (access time), so the bound keeps it longest.
    expect((await stat(join(cas, bySize.get(3000)!))).atimeMs).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a blob just used is kept over the cap; temporary files and other entries are not touched', async () => {
    const cas = tmp('cas');
    const sha = 'a'.repeat(64);
    await writeFile(join(cas, sha), Buffer.alloc(100));
    await writeFile(join(cas, `.${'b'.repeat(64)}.df-tmp-1`), Buffer.alloc(100));
    await mkdir(join(cas, '.locks'));
    expect(await pruneBlobCache(cas, { maxBytes: 0 })).toMatchObject({ unlinkedBytes: 100, removed: 0 });
    expect(await pruneBlobCache(cas, { maxBytes: 0, now: later })).toMatchObject({ removed: 1, freedBytes: 100 });
    expect((await readdir(cas)).sort()).toEqual([`.${'b'.repeat(64)}.df-tmp-1`, '.locks']);
    // A missing folder is an empty cache.
    expect(await pruneBlobCache(join(cas, 'nope'), { maxBytes: 0 })).toMatchObject({ unlinkedBytes: 0, removed: 0 });
  });
});
