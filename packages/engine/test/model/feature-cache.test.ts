import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FeatureCache } from '../../src/model/features.ts';

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-fcache-'));
afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

const entry = (n: number, per: number, fill: number) => ({
  data: new Float32Array(n * per).fill(fill),
  n,
  shape: [per],
  ids: Array.from({ length: n }, (_, i) => `item-${i}`),
  labels: Array.from({ length: n }, (_, i) => i % 2),
});

describe('FeatureCache', () => {
  it('makes an entry readable at once, and from disk in a new process once its write resolves', async () => {
    const dir = path.join(tmp, 'a');
    const cache = new FeatureCache(dir);
    const value = entry(4, 3, 1.5);
    const written = cache.set('k1', value);
    // Before the disk write finishes the same instance already answers.
    expect((await cache.get('k1'))?.data).toBe(value.data);
    await written;
    const fresh = new FeatureCache(dir);
    const read = await fresh.get('k1');
    expect(read?.n).toBe(4);
    expect(Array.from(read?.data ?? [])).toEqual(Array.from(value.data));
    expect(read?.labels).toEqual([0, 1, 0, 1]);
    expect(await fresh.get('missing')).toBeNull();
  });

  it('does not hold entries over a quarter of its memory budget in memory, but still serves them from disk', async () => {
    const dir = path.join(tmp, 'b');
    // Budget 4,000 bytes: a 1,200-byte entry is over a quarter, a 400-byte one is not.
    const cache = new FeatureCache(dir, 4000);
    const big = entry(100, 3, 2);
    const small = entry(10, 10, 3);
    await cache.set('big', big);
    await cache.set('small', small);
    const bigAgain = await cache.get('big');
    expect(bigAgain?.data).not.toBe(big.data);
    expect(Array.from(bigAgain?.data ?? [])).toEqual(Array.from(big.data));
    expect((await cache.get('small'))?.data).toBe(small.data);
  });

  describe('disk cap (least recently used out)', () => {
    /** Bytes one entry of entry(10, 10, …) takes on disk, header included. */
    async function entryBytes(): Promise<number> {
      const probe = new FeatureCache(path.join(tmp, 'probe'));
      await probe.set('probe', entry(10, 10, 0));
      return probe.diskBytes();
    }
    const onDisk = async (dir: string, keys: string[]) => {
      // Looking must not count as a use: onDisk leaves recency alone.
      const look = new FeatureCache(dir);
      return Object.fromEntries(await Promise.all(keys.map(async (k) => [k, await look.onDisk(k)] as const)));
    };

    it('evicts the least recently used entries past maxDiskBytes, and a read makes an entry recent', async () => {
      const per = await entryBytes();
      const dir = path.join(tmp, 'lru');
      // Room for three entries, not four; a memory budget of 0 keeps nothing in memory.
      const cache = new FeatureCache(dir, { maxDiskBytes: 3 * per + per / 2, maxMemoryBytes: 0 });
      await cache.set('a', entry(10, 10, 1));
      await cache.set('b', entry(10, 10, 2));
      await cache.set('c', entry(10, 10, 3));
      expect(Array.from((await cache.get('a'))?.data.subarray(0, 2) ?? [])).toEqual([1, 1]); // a is now the most recent
      await cache.set('d', entry(10, 10, 4));
      expect(await onDisk(dir, ['a', 'b', 'c', 'd'])).toEqual({ a: true, b: false, c: true, d: true });
      expect(await cache.diskBytes()).toBeLessThanOrEqual(3 * per + per / 2);
      await cache.set('e', entry(10, 10, 5));
      expect(await onDisk(dir, ['a', 'c', 'd', 'e'])).toEqual({ a: true, c: false, d: true, e: true });
    });

    it('never evicts what a running run pinned, and evicts it once the run releases it', async () => {
      const per = await entryBytes();
      const dir = path.join(tmp, 'pinned');
      const cache = new FeatureCache(dir, { maxDiskBytes: 2 * per + per / 2, maxMemoryBytes: 0 });
      cache.pin('run-1', ['old']);
      await cache.set('old', entry(10, 10, 1));
      await cache.set('x', entry(10, 10, 2));
      await cache.set('y', entry(10, 10, 3));
      await cache.set('z', entry(10, 10, 4));
      // 'old' is the least recently used but pinned: the unpinned ones went instead.
      expect(await onDisk(dir, ['old', 'x', 'y', 'z'])).toEqual({ old: true, x: false, y: false, z: true });
      await cache.release('run-1');
      await cache.set('w', entry(10, 10, 5));
      expect(await onDisk(dir, ['old', 'z', 'w'])).toEqual({ old: false, z: true, w: true });
      // A fresh instance (another process) reads what is left.
      expect(Array.from((await new FeatureCache(dir).get('w'))?.data.subarray(0, 1) ?? [])).toEqual([5]);
    });

    it('does not write an entry larger than the whole cap (it stays readable in this process)', async () => {
      const dir = path.join(tmp, 'too-big');
      const cache = new FeatureCache(dir, { maxDiskBytes: 100 });
      const value = entry(10, 10, 7);
      await cache.set('big', value);
      expect(await cache.diskBytes()).toBe(0);
      expect((await cache.get('big'))?.data).toBe(value.data);
    });
  });

  it('keeps the in-memory budget as an LRU: a read protects an entry from the next eviction', async () => {
    const dir = path.join(tmp, 'mem-lru');
    // 400-byte entries, budget 1,600 bytes: four fit in memory.
    const cache = new FeatureCache(dir, { maxMemoryBytes: 1600 });
    const a = entry(10, 10, 1);
    const b = entry(10, 10, 2);
    await cache.set('a', a);
    await cache.set('b', b);
    await cache.set('c', entry(10, 10, 3));
    await cache.set('d', entry(10, 10, 4));
    await cache.get('a');
    await cache.set('e', entry(10, 10, 5));
    expect((await cache.get('a'))?.data).toBe(a.data); // still the same object: from memory
    expect((await cache.get('b'))?.data).not.toBe(b.data); // dropped from memory, read back from disk
  });
});
