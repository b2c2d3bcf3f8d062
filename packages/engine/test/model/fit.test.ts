import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { type DatasetManifest, loadDataset, readImagesBatch } from '../../src/data/index.ts';
import { maxOverTiles } from '../../src/data/fit.ts';
import { loadBackbone, freezeBackbone } from '../../src/model/backbone.ts';
import { boundaryFeatures, disposeTrained, predictItems, trainOnDataset } from '../../src/model/classifier.ts';
import { exportModel, loadExportedModel, predictImages } from '../../src/model/export.ts';
import { FeatureCache, extractFeatures } from '../../src/model/features.ts';
import { seededRandom } from '../../src/model/train.ts';

let tmp: string;
let manifest: DatasetManifest;

/** Long thin grey parts (1:3 to 3:1, some near square); class "bar" has a thin bright scratch somewhere. */
async function writeParts(root: string, perClass: number): Promise<void> {
  const rand = seededRandom(9);
  for (const cls of ['good', 'bar']) {
    await fs.mkdir(path.join(root, cls), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const long = 60 + Math.floor(rand() * 60);
      const short = Math.max(20, Math.round(long / (1 + rand() * 2)));
      const wide = rand() < 0.5;
      const [w, h] = wide ? [long, short] : [short, long];
      const raw = Buffer.alloc(w * h);
      for (let p = 0; p < raw.length; p++) raw[p] = 90 + Math.floor(rand() * 30);
      if (cls === 'bar') {
        const x0 = Math.floor(rand() * (w - 10));
        const y0 = Math.floor(rand() * (h - 3));
        for (let x = x0; x < x0 + 10; x++) raw[y0 * w + x] = 250;
      }
      await sharp(raw, { raw: { width: w, height: h, channels: 1 } }).png().toFile(path.join(root, cls, `${i}.png`));
    }
  }
}

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-fit-'));
  await writeParts(path.join(tmp, 'datasets', 'parts'), 8);
  manifest = await loadDataset({ root: path.join(tmp, 'datasets'), path: 'parts', valRatio: 0.2, testRatio: 0.3, seed: 1 });
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('backbone fit', () => {
  it('max over tiles equals the element-wise max of the per-tile maps (real backbone), then pools', async () => {
    const b = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 32 });
    const pix = 32 * 32 * 3;
    const rand = seededRandom(3);
    const tiles = [0, 1, 2].map(() => new Float32Array(pix).map(() => rand() * 255));
    const joined = new Float32Array(3 * pix);
    for (const [k, t] of tiles.entries()) joined.set(t, k * pix);
    const perTile = await extractFeatures(b.model, tiles);
    const per = perTile.data.length / 3;
    const expected = maxOverTiles(perTile.data, 3, per);
    // A tile-wise max is really taken: it differs from every single tile's map.
    for (let k = 0; k < 3; k++) expect(maxAbsDiff(expected, perTile.data.subarray(k * per, (k + 1) * per))).toBeGreaterThan(0.01);
    const combined = await extractFeatures(b.model, [joined, tiles[0] as Float32Array], { tiles: true });
    expect(combined.shape).toEqual(perTile.shape);
    expect(maxAbsDiff(combined.data.subarray(0, per), expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(combined.data.subarray(per), perTile.data.subarray(0, per))).toBeLessThan(1e-5);
    // avg pooling comes after the max (not the max of per-tile averages).
    const c = perTile.shape[perTile.shape.length - 1] as number;
    const pooled = await extractFeatures(b.model, [joined], { tiles: true, pool: 'avg' });
    const avg = new Float32Array(c);
    for (let i = 0; i < per; i++) avg[i % c] = (avg[i % c] as number) + (expected[i] as number) / (per / c);
    expect(pooled.shape).toEqual([c]);
    expect(maxAbsDiff(pooled.data, avg)).toBeLessThan(1e-4);
    b.model.dispose();
  });

  it('puts fit into the backbone signature and the feature cache key', async () => {
    const stretch = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 32 });
    const box = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 32, fit: 'letterbox' });
    const tiles = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 32, fit: 'tiles', maxTiles: 3 });
    expect(stretch.signature).not.toContain('letterbox');
    expect(new Set([stretch.signature, box.signature, tiles.signature]).size).toBe(3);
    expect(box.describe()).toMatch(/letterboxed/);
    const cache = new FeatureCache(path.join(tmp, 'cache-key'));
    const items = manifest.items.slice(0, 4);
    const logs: string[] = [];
    const opts = { cache, datasetSignature: manifest.signature, log: (m: string) => logs.push(m) };
    const a = await boundaryFeatures(await freezeBackbone(stretch), items, 'avg', opts);
    const bx = await boundaryFeatures(await freezeBackbone(box), items, 'avg', opts);
    const t = await boundaryFeatures(await freezeBackbone(tiles), items, 'avg', opts);
    expect(logs.filter((l) => l.includes('reused'))).toEqual([]);
    expect(maxAbsDiff(a.data, bx.data)).toBeGreaterThan(1e-3);
    expect(maxAbsDiff(a.data, t.data)).toBeGreaterThan(1e-3);
    await boundaryFeatures(await freezeBackbone(box), items, 'avg', opts);
    expect(logs.filter((l) => l.includes('reused'))).toHaveLength(1);
    for (const b of [stretch, box, tiles]) b.model.dispose();
  });

  for (const fit of ['letterbox', 'tiles'] as const) {
    it(`an exported ${fit} model predicts (predictImages) what the evaluate path computes`, async () => {
      const backbone = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 32, fit, maxTiles: 3 });
      const cache = new FeatureCache(path.join(tmp, `cache-${fit}`));
      const trained = await trainOnDataset({
        manifest,
        augmentation: { copies: 1, seed: 2 },
        backbone,
        headSpec: { pooling: 'avgmax', hidden: 16, dropout: 0 },
        cache,
        epochs: 3,
        earlyStopping: false,
      });
      const testItems = manifest.items.filter((i) => i.split === 'test');
      const inMemory = await predictItems(trained, testItems, { cache, datasetSignature: manifest.signature });
      const dir = path.join(tmp, 'models', fit);
      const exported = await exportModel(trained, dir, { name: fit });
      expect(exported.meta.preprocessing.fit).toBe(fit);
      const loaded = await loadExportedModel(dir);
      const predictions = await predictImages(loaded, testItems.map((i) => i.path));
      const k = manifest.classes.length;
      const fromExport = predictions.flatMap((p) => manifest.classes.map((c) => p.probabilities[c] as number));
      expect(fromExport).toHaveLength(testItems.length * k);
      expect(maxAbsDiff(fromExport, inMemory)).toBeLessThan(1e-4);

      // Without `fit` the file means stretch: predictImages then feeds stretched images to the graph.
      const meta = JSON.parse(await fs.readFile(path.join(dir, 'defectflow.json'), 'utf8'));
      delete meta.preprocessing.fit;
      delete meta.preprocessing.maxTiles;
      delete meta.preprocessing.tilesMaxAt;
      await fs.writeFile(path.join(dir, 'defectflow.json'), JSON.stringify(meta));
      const legacy = await predictImages(dir, testItems.map((i) => i.path));
      const { images } = await readImagesBatch(testItems.map((i) => i.path), 32);
      const tfModel = loaded.model as tf.LayersModel; // a TF.js export (not an ONNX backbone)
      const stretched = tf.tidy(() =>
        Array.from((tfModel.predict(tf.stack(images.map((im) => tf.tensor3d(im.data, [32, 32, 3])))) as tf.Tensor).dataSync()),
      );
      const fromLegacy = legacy.flatMap((p) => manifest.classes.map((c) => p.probabilities[c] as number));
      expect(maxAbsDiff(fromLegacy, stretched)).toBeLessThan(1e-5);
      expect(maxAbsDiff(fromLegacy, fromExport)).toBeGreaterThan(1e-4);
      loaded.model?.dispose();
      disposeTrained(trained);
      backbone.model.dispose();
    });
  }
});
