import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEEL_DEFECT_CLASSES, createRng, generateSampleDataset, renderSteelImage, renderSteelSample } from '../../src/data/index.ts';
import { makeTempDir } from './helpers.ts';

const PER_CLASS = 8;
const SIZE = 64;

async function listFiles(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

describe('generateSampleDataset', () => {
  let base: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir: base, cleanup } = await makeTempDir('generator'));
  });
  afterAll(() => cleanup());

  it('writes <class>/<class>_<n>.png grayscale PNGs for the six NEU classes plus a README saying it is synthetic', async () => {
    const progress: number[] = [];
    const result = await generateSampleDataset(path.join(base, 'a'), {
      perClass: PER_CLASS,
      size: SIZE,
      seed: 1,
      onProgress: (done) => progress.push(done),
    });
    expect(result.files).toBe(6 * PER_CLASS);
    expect(result.classes).toEqual([...STEEL_DEFECT_CLASSES]);
    const files = await listFiles(result.dir);
    const expected = STEEL_DEFECT_CLASSES.flatMap((c) =>
      Array.from({ length: PER_CLASS }, (_, k) => path.join(c, `${c}_${k + 1}.png`)),
    );
    expect(files).toEqual([...expected, 'README.txt'].sort());
    expect(await fs.readFile(path.join(result.dir, 'README.txt'), 'utf8')).toMatch(/SYNTHETIC/);
    const meta = await sharp(path.join(result.dir, 'scratches', 'scratches_1.png')).metadata();
    expect(meta).toMatchObject({ format: 'png', width: SIZE, height: SIZE, channels: 1, depth: 'uchar' });
    expect(progress.at(-1)).toBe(6 * PER_CLASS);
    // No temp folder left next to it.
    expect((await fs.readdir(base)).filter((n) => n.includes('partial'))).toEqual([]);
  });

  it('is deterministic: the same seed gives the same bytes, another seed different ones', async () => {
    const opts = { perClass: 3, size: SIZE, classes: ['crazing', 'scratches'] as const };
    const a = await generateSampleDataset(path.join(base, 'det-a'), { ...opts, seed: 9 });
    const b = await generateSampleDataset(path.join(base, 'det-b'), { ...opts, seed: 9 });
    const c = await generateSampleDataset(path.join(base, 'det-c'), { ...opts, seed: 10 });
    for (const rel of await listFiles(a.dir)) {
      const bytesA = await fs.readFile(path.join(a.dir, rel));
      expect(bytesA.equals(await fs.readFile(path.join(b.dir, rel))), rel).toBe(true);
      if (rel.endsWith('.png')) expect(bytesA.equals(await fs.readFile(path.join(c.dir, rel))), rel).toBe(false);
    }
  });

  it('gives images whose brightness does not reveal the class', async () => {
    const n = 24;
    const means: Record<string, number[]> = {};
    for (const cls of STEEL_DEFECT_CLASSES) {
      means[cls] = Array.from({ length: n }, (_, k) => {
        const px = renderSteelImage(cls, SIZE, createRng(1000 + k));
        return px.reduce((s, v) => s + v, 0) / px.length;
      });
    }
    // Every pair of classes overlaps in mean intensity.
    for (const a of STEEL_DEFECT_CLASSES) {
      for (const b of STEEL_DEFECT_CLASSES) {
        const ma = means[a] as number[];
        const mb = means[b] as number[];
        expect(Math.min(...ma) < Math.max(...mb) && Math.min(...mb) < Math.max(...ma), `${a} vs ${b}`).toBe(true);
      }
    }
    // A nearest-class-mean classifier on brightness alone stays far from useful.
    const centroids = Object.fromEntries(
      Object.entries(means).map(([c, m]) => [c, m.reduce((s, v) => s + v, 0) / m.length]),
    );
    let correct = 0;
    for (const [cls, list] of Object.entries(means)) {
      for (const m of list) {
        const guess = Object.entries(centroids).reduce((best, cur) =>
          Math.abs(cur[1] - m) < Math.abs(best[1] - m) ? cur : best,
        )[0];
        if (guess === cls) correct++;
      }
    }
    expect(correct / (n * STEEL_DEFECT_CLASSES.length)).toBeLessThan(0.4);
  });

  it('draws a defect in every defect image and none in a clean one', () => {
    for (let k = 0; k < 6; k++) {
      expect(renderSteelSample('good', SIZE, createRng(50 + k)).mask.every((v) => v === 0)).toBe(true);
    }
    for (const cls of STEEL_DEFECT_CLASSES) {
      for (let k = 0; k < 6; k++) {
        const { mask } = renderSteelSample(cls, SIZE, createRng(50 + k));
        const area = mask.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
        expect(area, `${cls} #${k}`).toBeGreaterThan(0);
      }
    }
  });

  it('stops on abort and leaves nothing behind', async () => {
    const controller = new AbortController();
    const target = path.join(base, 'aborted');
    const run = generateSampleDataset(target, {
      perClass: 20,
      size: SIZE,
      signal: controller.signal,
      onProgress: (done) => {
        if (done === 5) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/abort/i);
    expect((await fs.readdir(base)).filter((n) => n.startsWith('aborted'))).toEqual([]);
  });

  it('refuses unknown classes and bad sizes', async () => {
    await expect(generateSampleDataset(path.join(base, 'bad'), { classes: ['rust' as never] })).rejects.toThrow(/unknown class "rust"/);
    await expect(generateSampleDataset(path.join(base, 'bad'), { size: 4 })).rejects.toThrow(/size/);
  });
});
