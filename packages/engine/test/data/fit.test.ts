import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_AUGMENT_POLICY, normalizeAugmentPolicy } from '../../src/data/augment/policy.ts';
import { augmentRgbView } from '../../src/data/augment/augment.ts';
import { augmentTiledView, fitSignature, maxOverTiles, normalizeFit, tileLayout } from '../../src/data/fit.ts';
import { readImageAsFloat } from '../../src/data/image-io.ts';
import { createRng } from '../../src/data/rng.ts';
import { makeTempDir } from './helpers.ts';

/** Grey PNG from a per-pixel function. */
async function writeGrey(file: string, w: number, h: number, value: (x: number, y: number) => number): Promise<void> {
  const raw = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * w + x] = value(x, y);
  await sharp(raw, { raw: { width: w, height: h, channels: 1 } }).png().toFile(file);
}

/** Rows / columns of a size×size RGB image holding a pixel brighter than 128. */
function brightExtent(data: Float32Array, size: number): { rows: number; cols: number } {
  const rows = new Set<number>();
  const cols = new Set<number>();
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++)
      if ((data[(y * size + x) * 3] as number) > 128) {
        rows.add(y);
        cols.add(x);
      }
  return { rows: rows.size, cols: cols.size };
}

describe('image fit (aspect ratio)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const f = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir('fit'));
    // 120×40 dark part with a 4-px bright bar along it (rows 18..21, x 10..109).
    await writeGrey(f('bar.png'), 120, 40, (x, y) => (y >= 18 && y < 22 && x >= 10 && x < 110 ? 240 : 20));
    // 60×180 (1:3), each third a different grey: 40, 120, 200.
    await writeGrey(f('thirds.png'), 60, 180, (_x, y) => (y < 60 ? 40 : y < 120 ? 120 : 200));
  });
  afterAll(() => cleanup());

  it('letterbox keeps a thin bar thin; stretch fattens it', async () => {
    const size = 60;
    const box = await readImageAsFloat(f('bar.png'), size, { layout: normalizeFit({ fit: 'letterbox' }) });
    const stretched = await readImageAsFloat(f('bar.png'), size);
    const b = brightExtent(box.data, size);
    const s = brightExtent(stretched.data, size);
    // Scale 0.5 both ways: the 4-px bar is 2 px (3 with resampling), 50 px long.
    expect(b.rows).toBeLessThanOrEqual(3);
    expect(b.cols).toBeGreaterThanOrEqual(45);
    expect(b.cols).toBeLessThanOrEqual(52);
    // Stretch scales y by 1.5: the bar is 6 rows.
    expect(s.rows).toBeGreaterThanOrEqual(5);
    expect(box.tiles).toBe(1);
  });

  it('letterbox pads with the image mean, not black', async () => {
    const size = 60;
    const box = await readImageAsFloat(f('bar.png'), size, { layout: normalizeFit({ fit: 'letterbox' }) });
    // The 60×20 image sits in rows 20..39; rows 0..19 and 40..59 are pad.
    let sum = 0;
    for (let y = 20; y < 40; y++) for (let x = 0; x < size; x++) sum += box.data[(y * size + x) * 3] as number;
    const mean = sum / (20 * size);
    expect(mean).toBeGreaterThan(30); // brighter than the dark background: the bar counts
    for (const y of [0, 10, 19, 40, 59]) for (const x of [0, 30, 59]) expect(box.data[(y * size + x) * 3]).toBeCloseTo(mean, 3);
  });

  it('tiles a 1:3 image into three squares along the long side, evenly spaced, covering it all', async () => {
    expect(tileLayout(60, 180, 32, 4)).toEqual({ count: 3, width: 32, height: 96, axis: 'y', offsets: [0, 32, 64] });
    // 2.5:1 → 3 overlapping tiles, long side kept at 80.
    expect(tileLayout(200, 80, 32, 4)).toEqual({ count: 3, width: 80, height: 32, axis: 'x', offsets: [0, 24, 48] });
    // Near-square: one tile, squeezed by under 10 %; longer than maxTiles: squeezed to maxTiles squares.
    expect(tileLayout(105, 100, 32, 4)).toMatchObject({ count: 1, width: 32, height: 32, offsets: [0] });
    expect(tileLayout(1000, 100, 32, 4)).toMatchObject({ count: 4, width: 128, offsets: [0, 32, 64, 96] });
    const img = await readImageAsFloat(f('thirds.png'), 32, { layout: normalizeFit({ fit: 'tiles' }) });
    expect(img.tiles).toBe(3);
    expect(img.data.length).toBe(3 * 32 * 32 * 3);
    const pix = 32 * 32 * 3;
    [40, 120, 200].forEach((grey, t) => {
      // The tile's middle row (away from the resampled band edges) is that third's grey.
      const mid = t * pix + (16 * 32 + 16) * 3;
      expect(img.data[mid]).toBeCloseTo(grey, 0);
    });
  });

  it('maxOverTiles is the element-wise max', () => {
    const maps = new Float32Array([1, 5, -2, 3, 0, 4, 2, 2, -1]);
    expect(Array.from(maxOverTiles(maps, 3, 3))).toEqual([3, 5, 4]);
  });

  it('augments every tile with the same draws; one tile is augmentRgbView', () => {
    const size = 8;
    const pix = size * size * 3;
    const one = new Float32Array(pix).map((_, i) => (i * 7) % 255);
    const policy = normalizeAugmentPolicy({ ...DEFAULT_AUGMENT_POLICY, noise: 0 });
    expect(augmentTiledView(one, size, policy, 11)).toEqual(augmentRgbView(one, size, policy, createRng(11)));
    const two = new Float32Array(2 * pix);
    two.set(one, 0);
    two.set(one, pix);
    const out = augmentTiledView(two, size, policy, 11);
    expect(out.subarray(pix)).toEqual(out.subarray(0, pix));
    expect(out.subarray(0, pix)).toEqual(augmentRgbView(one, size, policy, createRng(11)));
  });

  it('fit enters signatures except stretch (old caches stay valid) and rejects unknown values by name', () => {
    expect(fitSignature(normalizeFit({}))).toBe('');
    expect(fitSignature(normalizeFit({ fit: 'letterbox' }))).toBe('|letterbox');
    expect(fitSignature(normalizeFit({ fit: 'tiles', maxTiles: 3 }))).toBe('|tiles3');
    expect(() => normalizeFit({ fit: 'crop' as never })).toThrow(/fit must be one of stretch, letterbox, tiles/);
    expect(() => normalizeFit({ fit: 'tiles', maxTiles: 0 })).toThrow(/maxTiles/);
  });
});
