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
});
