import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { generateSampleDataset, loadDataset } from '../../src/data/index.ts';
import type { DatasetManifest } from '../../src/data/index.ts';
import { readImagesBatch } from '../../src/data/image-io.ts';
import { loadBackbone } from '../../src/model/backbone.ts';
import { disposeTrained, trainOnDataset } from '../../src/model/classifier.ts';
import { ONNX_FILE, exportModel, loadExportedModel, predictImages } from '../../src/model/export.ts';
import type { HeadSpec } from '../../src/model/head.ts';

/**
 * The ONNX export is held to: max |p_onnx − p_tfjs| < 1e-4 over every class probability, and the
 * same argmax, on real images decoded as the TF.js path decodes them. Both are float32 with the
 * same weights; the ONNX side folds batch-norm into the convolutions and sums in another order.
 */
const PROBABILITY_TOLERANCE = 1e-4;

let tmp: string;
let manifest: DatasetManifest;

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-onnx-export-'));
  await generateSampleDataset(path.join(tmp, 'datasets', 'steel'), { perClass: 6, size: 64, seed: 7 });
  manifest = await loadDataset({ root: path.join(tmp, 'datasets'), path: 'steel', valRatio: 0.2, testRatio: 0.2, seed: 1 });
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

/** The images as the ONNX model takes them: uint8 NHWC, decoded and resized exactly as predictImages does. */
async function uint8Batch(paths: string[], size: number): Promise<Uint8Array> {
  const { images, failures } = await readImagesBatch(paths, size);
  expect(failures).toEqual([]);
  const out = new Uint8Array(paths.length * size * size * 3);
  images.forEach((im, i) => {
    for (let j = 0; j < im.data.length; j++) {
      const v = im.data[j] as number;
      expect(Number.isInteger(v)).toBe(true); // stretch decodes whole 0..255 values: uint8 loses nothing
      out[i * size * size * 3 + j] = v;
    }
  });
  return out;
}

const cases: { name: string; cutAt: string; headSpec: HeadSpec }[] = [
  { name: 'dense head', cutAt: 'block_6_expand_relu', headSpec: { pooling: 'avgmax', hidden: 16, dropout: 0.1 } },
  { name: 'spatial head', cutAt: 'block_3_expand_relu', headSpec: { kind: 'spatial', filters: 8, pooling: 'avgmax', dropout: 0.1 } },
];

describe('ONNX export of the deployed model', () => {
  for (const c of cases) {
    it(`${c.name}: model.onnx (uint8 in, probabilities out) predicts what the TF.js model predicts`, async () => {
      const size = 64;
      const backbone = await loadBackbone({ cutAt: c.cutAt, inputSize: size });
      const trained = await trainOnDataset({ manifest, backbone, headSpec: c.headSpec, epochs: 3, earlyStopping: false, learningRate: 0.01 });
      const dir = path.join(tmp, 'models', c.name.replace(/ /g, '-'));
      const exported = await exportModel(trained, dir, { name: c.name });
      expect(exported.files).toContain(ONNX_FILE);
      expect((await fs.readdir(dir)).sort()).toEqual(['defectflow.json', 'drift.bin', 'model.json', 'model.onnx', 'weights.bin']);
      const meta = JSON.parse(await fs.readFile(path.join(dir, 'defectflow.json'), 'utf8'));
      expect(meta.onnx).toMatchObject({
        available: true,
        file: 'model.onnx',
        input: { name: 'input', dtype: 'uint8', shape: ['N', size, size, 3], layout: 'NHWC' },
        output: { name: 'output', dtype: 'float32', shape: ['N', manifest.classes.length] },
      });

      const items = manifest.items.filter((i) => i.split !== 'train');
      const paths = items.map((i) => i.path);
      const loaded = await loadExportedModel(dir);
      const tfjs = await predictImages(loaded, paths);
      loaded.model?.dispose();

      const session = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
      expect(session.inputNames).toEqual(['input']);
      const x = new ort.Tensor('uint8', await uint8Batch(paths, size), [paths.length, size, size, 3]);
      const out = (await session.run({ input: x })).output as ort.Tensor;
      expect(out.dims).toEqual([paths.length, manifest.classes.length]);
      const probs = out.data as Float32Array;
      const k = manifest.classes.length;
      let maxAbs = 0;
      tfjs.forEach((p, i) => {
        let arg = 0;
        manifest.classes.forEach((cls, j) => {
          maxAbs = Math.max(maxAbs, Math.abs((probs[i * k + j] as number) - (p.probabilities[cls] as number)));
          if ((probs[i * k + j] as number) > (probs[i * k + arg] as number)) arg = j;
        });
        const tfArg = manifest.classes.indexOf(Object.entries(p.probabilities).sort((a, b) => b[1] - a[1])[0]?.[0] as string);
        expect(arg).toBe(tfArg);
      });
      console.log(`onnx export (${c.name}, ${paths.length} images × ${k} classes): max |p_onnx − p_tfjs| = ${maxAbs.toExponential(2)}`);
      expect(maxAbs).toBeLessThan(PROBABILITY_TOLERANCE);
      await session.release();
      disposeTrained(trained);
      backbone.model.dispose();
    });
  }

  it("fit 'tiles' writes no model.onnx and says why in defectflow.json", async () => {
    const backbone = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 32, fit: 'tiles', maxTiles: 2 });
    const trained = await trainOnDataset({ manifest, backbone, headSpec: { hidden: 0, dropout: 0 }, epochs: 1, earlyStopping: false });
    const dir = path.join(tmp, 'models', 'tiles');
    const exported = await exportModel(trained, dir, { name: 'tiles' });
    expect(exported.files).not.toContain(ONNX_FILE);
    expect((await fs.readdir(dir)).sort()).toEqual(['defectflow.json', 'drift.bin', 'model.json', 'weights.bin']);
    const meta = JSON.parse(await fs.readFile(path.join(dir, 'defectflow.json'), 'utf8'));
    expect(meta.onnx.available).toBe(false);
    expect(meta.onnx.reason).toMatch(/tiles/);
    disposeTrained(trained);
    backbone.model.dispose();
  });
});
