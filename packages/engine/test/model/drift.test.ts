import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { type DatasetManifest, generateSampleDataset, loadDataset } from '../../src/data/index.ts';
import { createRng } from '../../src/data/rng.ts';
import { loadBackbone } from '../../src/model/backbone.ts';
import { trainOnDataset } from '../../src/model/classifier.ts';
import { DRIFT_FILE, driftBytes, driftFromBytes, driftMeta, driftScore, fitDriftReference, percentile, pooledVectors } from '../../src/model/drift.ts';
import { exportModel, loadExportedModel, predictImages } from '../../src/model/export.ts';

/** n rows of `dims` values around one of `centres` (label = centre index), Gaussian noise of `sd`. */
function blobs(centres: number[][], perClass: number, sd: number, seed: number) {
  const rng = createRng(seed);
  const dims = centres[0]?.length ?? 0;
  const data = new Float32Array(centres.length * perClass * dims);
  const labels: number[] = [];
  centres.forEach((c, l) => {
    for (let j = 0; j < perClass; j++) {
      const row = labels.length;
      for (let i = 0; i < dims; i++) data[row * dims + i] = (c[i] as number) + rng.normal(0, sd);
      labels.push(l);
    }
  });
  return { data, n: labels.length, shape: [dims], labels };
}

/** Three class clusters in 16 dimensions, unit directions apart. */
const DIMS = 16;
const centres = [0, 1, 2].map((k) => Array.from({ length: DIMS }, (_, i) => (i === k ? 10 : 1)));

describe('drift statistics', () => {
  const train = blobs(centres, 200, 0.6, 1);
  const val = blobs(centres, 100, 0.6, 2);
  const ref = fitDriftReference({ train, val, classes: ['a', 'b', 'c'], layer: 'block', pooling: 'avg', maxReferences: 150 });

  it('keeps at most maxReferences vectors, every class in proportion, and the training mix', () => {
    expect(ref.references).toBe(150);
    expect(ref.vectors.length).toBe(150 * DIMS);
    expect(ref.classCounts).toEqual({ a: 200, b: 200, c: 200 });
    expect(ref.calibration).toMatchObject({ split: 'val', count: 300 });
    expect(ref.threshold).toBe(ref.calibration.p99);
  });

  it('flags about 1 % of fresh in-distribution images and nearly all of a new cluster or a shifted input', () => {
    const fresh = blobs(centres, 300, 0.6, 3);
    const rate = (rows: { data: Float32Array; n: number }) => {
      let drifted = 0;
      for (let j = 0; j < rows.n; j++) if (driftScore(ref, rows.data.subarray(j * DIMS, (j + 1) * DIMS)).drifted) drifted++;
      return drifted / rows.n;
    };
    expect(rate(fresh)).toBeLessThan(0.03);
    // A class the model never saw: its own direction.
    const unseen = blobs([Array.from({ length: DIMS }, (_, i) => (i === 5 ? 10 : 1))], 100, 0.6, 4);
    expect(rate(unseen)).toBeGreaterThan(0.95);
    // The known classes with their features shifted (as a lighting change moves them).
    const shifted = blobs(centres.map((c) => c.map((v, i) => v + (i >= 8 ? 4 : 0))), 50, 0.6, 5);
    expect(rate(shifted)).toBeGreaterThan(0.95);
  });

  it('average-pools feature maps', () => {
    // Two rows of a 2×1×3 map: positions (1,2,3) and (3,2,1) average to (2,2,2).
    const { vectors, dims } = pooledVectors({ data: Float32Array.from([1, 2, 3, 3, 2, 1, 0, 0, 4, 0, 0, 0]), n: 2, shape: [2, 1, 3] });
    expect(dims).toBe(3);
    expect(Array.from(vectors)).toEqual([2, 2, 2, 0, 0, 2]);
  });

  it('notices a contrast change that only scales the features (not cosine)', () => {
    // One cluster; the shifted images have every feature at half its value (same direction: cosine distance ~0).
    const one = [Array.from({ length: DIMS }, (_, i) => 5 + (i % 4))];
    const own = fitDriftReference({ train: blobs(one, 200, 0.5, 7), val: blobs(one, 100, 0.5, 8), classes: ['a'], layer: 'block', pooling: 'avg' });
    const scaled = blobs([(one[0] as number[]).map((v) => v * 0.5)], 50, 0.25, 9);
    let drifted = 0;
    for (let j = 0; j < scaled.n; j++) if (driftScore(own, scaled.data.subarray(j * DIMS, (j + 1) * DIMS)).drifted) drifted++;
    expect(drifted / scaled.n).toBeGreaterThan(0.95);
  });

  it('calibrates on the training images left out of their own neighbours when there is no validation split', () => {
    const noVal = fitDriftReference({ train, val: null, classes: ['a', 'b', 'c'], layer: 'block', pooling: 'avg' });
    expect(noVal.calibration).toMatchObject({ split: 'train', count: 600 });
    // Left out: an image is not its own nearest neighbour, so the scores are not all ~0.
    expect(noVal.calibration.p50).toBeGreaterThan(0.01);
    expect(Math.abs(noVal.threshold - ref.threshold) / ref.threshold).toBeLessThan(0.5);
  });

  it('round-trips through drift.bin bytes and refuses a file of the wrong size', () => {
    const back = driftFromBytes(driftMeta(ref), driftBytes(ref), 'drift.bin');
    expect(back.vectors).toEqual(ref.vectors);
    expect(back.mean).toEqual(ref.mean);
    expect(back.std).toEqual(ref.std);
    expect(driftScore(back, train.data.subarray(0, DIMS))).toEqual(driftScore(ref, train.data.subarray(0, DIMS)));
    expect(() => driftFromBytes(driftMeta(ref), driftBytes(ref).subarray(4), 'x/drift.bin')).toThrow(/x\/drift.bin: .*expected \(2 \+ 150\) × 16/);
    expect(() => driftScore(ref, new Float32Array(3))).toThrow(/3 values, the reference 16/);
  });

  it('percentile is the nearest rank', () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.99)).toBe(99);
    expect(percentile([], 0.9)).toBe(0);
  });
});

describe('drift reference of a deployed model', () => {
  let tmp: string;
  let manifest: DatasetManifest;
  beforeAll(async () => {
    await initBackend();
    tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-drift-'));
    await generateSampleDataset(path.join(tmp, 'datasets', 'steel'), { perClass: 12, size: 64, seed: 7, classes: ['crazing', 'patches', 'scratches'] });
    manifest = await loadDataset({ root: path.join(tmp, 'datasets'), path: 'steel', valRatio: 0.25, testRatio: 0.25, seed: 1 });
  });
  afterAll(async () => {
    await fs.rm(tmp, { recursive: true, force: true });
  });

  it('is written at export (drift.bin + defectflow.json drift) and scores each prediction from the same forward pass', async () => {
    const size = 64;
    const backbone = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: size });
    const trained = await trainOnDataset({ manifest, backbone, headSpec: { kind: 'spatial', filters: 8 }, epochs: 2, earlyStopping: false });
    expect(trained.drift).toBeTruthy();
    const dir = path.join(tmp, 'models', 'm');
    const exported = await exportModel(trained, dir, { name: 'm' });
    expect(exported.files).toContain(DRIFT_FILE);
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'defectflow.json'), 'utf8'));
    const train = manifest.items.filter((i) => i.split === 'train');
    expect(meta.drift).toMatchObject({
      method: 'knn-standardized',
      file: DRIFT_FILE,
      layer: trained.backbone.boundary,
      pooling: 'avg',
      references: train.length,
      calibration: { split: 'val', count: manifest.items.filter((i) => i.split === 'val').length },
    });
    expect(Object.values(meta.drift.classCounts).reduce((a: number, b) => a + (b as number), 0)).toBe(train.length);
    expect((await fs.stat(path.join(dir, DRIFT_FILE))).size).toBe((2 + meta.drift.references) * meta.drift.dims * 4);

    const loaded = await loadExportedModel(dir);
    // Training images are their own references: distance to the k-th nearest is small, far below the threshold.
    const trainPreds = await predictImages(loaded, train.slice(0, 6).map((i) => i.path), { drift: true });
    for (const p of trainPreds) {
      expect(p.drift?.threshold).toBe(meta.drift.threshold);
      expect(p.drift?.drifted).toBe(false);
    }
    // The same images with the contrast pushed far up (clipped), and a blank white frame: far from every training image.
    const odd = await Promise.all(
      train.slice(0, 3).map(async (item, k) => {
        const file = path.join(tmp, `odd-${k}.png`);
        await sharp(item.path).linear(4, -380).toFile(file);
        return file;
      }),
    );
    odd.push(path.join(tmp, 'white.png'));
    await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } }).png().toFile(path.join(tmp, 'white.png'));
    const oddPreds = await predictImages(loaded, odd, { drift: true });
    for (const p of oddPreds) expect(p.drift?.drifted).toBe(true);
    const plain = await predictImages(loaded, odd);
    expect(plain[0]?.drift).toBeUndefined();
    expect(plain.map((p) => p.probabilities)).toEqual(oddPreds.map((p) => p.probabilities));
    loaded.model?.dispose();
  }, 120_000);
});
