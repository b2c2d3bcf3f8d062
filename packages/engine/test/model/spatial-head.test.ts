import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import type { Pooling } from '../../src/model/features.ts';
import { fitChannelProjection, projectChannels, projectKernel, unprojectKernel } from '../../src/model/channel-projection.ts';
import { buildHead, isSpatialHead } from '../../src/model/head.ts';
import { OnnxSpatialStepper } from '../../src/model/spatial-stepper.ts';
import { AutodiffStepper } from '../../src/model/stepper.ts';
import { seededRandom, trainClassifier } from '../../src/model/train.ts';

const MAP = [4, 5, 12];
const PER = MAP.reduce((a, b) => a * b, 1);

/** Feature maps where class c lights channel c at one random position (a small, local "defect"). */
function localDefects(n: number, classes: number, seed: number): { x: Float32Array; y: number[] } {
  const rand = seededRandom(seed);
  const x = new Float32Array(n * PER);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < PER; j++) x[i * PER + j] = rand() * 0.5;
    const c = i % classes;
    y.push(c);
    if (c > 0) {
      const pos = Math.floor(rand() * (MAP[0] as number) * (MAP[1] as number));
      x[i * PER + pos * (MAP[2] as number) + c] = 3;
    }
  }
  return { x, y };
}

function weightsOf(head: tf.LayersModel): Float32Array[] {
  return head.getWeights().map((t) => Float32Array.from(t.dataSync() as Float32Array));
}

beforeAll(async () => {
  await initBackend();
});

describe('spatial head', () => {
  it('is a 1×1 conv → batch norm → ReLU → pooling → dense head on the map', () => {
    const head = buildHead({ kind: 'spatial', filters: 8, pooling: 'avgmax', numClasses: 3, inputShape: MAP });
    expect(isSpatialHead(head)).toBe(true);
    expect(head.layers.map((l) => l.getClassName())).toEqual([
      'InputLayer', 'Conv2D', 'BatchNormalization', 'Activation', 'GlobalAveragePooling2D', 'GlobalMaxPooling2D', 'Concatenate', 'Dropout', 'Dense',
    ]);
    expect(head.outputs[0]?.shape).toEqual([null, 3]);
    expect(() => buildHead({ kind: 'spatial', numClasses: 3, inputShape: [12] })).toThrow(/feature map/);
    expect(isSpatialHead(buildHead({ numClasses: 3, inputShape: MAP }))).toBe(false);
    head.dispose();
  });

  // ONNX Runtime's hand-written backward pass against TF.js autodiff on the same weights and
  // batches: losses and every trained weight after several steps agree to 1e-4 (float32 sums in
  // different orders differ in the 6th-7th digit; a wrong gradient term is off in the 1st-2nd).
  for (const pooling of ['max', 'avg', 'avgmax'] as Pooling[]) {
    for (const optimizer of ['adam', 'sgd'] as const) {
      it(`ONNX gradients match TF.js autodiff (${pooling} pooling, ${optimizer})`, async () => {
        const k = 3;
        const data = localDefects(24, k, 7);
        const heads = [0, 1].map(() => buildHead({ kind: 'spatial', filters: 6, pooling, dropout: 0, numClasses: k, inputShape: MAP, seed: 11 }));
        const made = await OnnxSpatialStepper.create(heads[0] as tf.LayersModel, optimizer, k, MAP);
        if (!('stepper' in made)) throw new Error(made.reason);
        const onnx = made.stepper;
        const reference = new AutodiffStepper(heads[1] as tf.LayersModel, null, optimizer, MAP, k);
        const rand = seededRandom(1);
        for (let s = 0; s < 4; s++) {
          const rows = 8;
          const idx = Array.from({ length: rows }, (_, r) => (s * rows + r) % data.y.length);
          const x = new Float32Array(rows * PER);
          for (const [r, i] of idx.entries()) x.set(data.x.subarray(i * PER, (i + 1) * PER), r * PER);
          const y = Int32Array.from(idx.map((i) => data.y[i] as number));
          const w = Float32Array.from(idx.map((i) => 1 + (data.y[i] as number) * 0.5));
          const a = await onnx.step(x, y, w, 0.05, rand);
          const b = reference.step(x, y, w, 0.05, rand, 'train');
          expect(a.loss).toBeCloseTo(b.loss, 4);
          expect(a.hits).toBe(b.hits);
        }
        onnx.finish();
        const trained = weightsOf(heads[0] as tf.LayersModel);
        const expected = weightsOf(heads[1] as tf.LayersModel);
        // Trainable weights come first: conv kernel, γ, β, dense kernel, dense bias. The moving
        // statistics after them differ by design (ours are a debiased average).
        expect(trained).toHaveLength(7);
        for (const i of [0, 1, 2, 3, 4]) {
          const e = expected[i] as Float32Array;
          const t = trained[i] as Float32Array;
          let worst = 0;
          for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs((t[j] as number) - (e[j] as number)));
          expect(worst, `weight ${i}`).toBeLessThan(1e-4);
        }
        reference.dispose();
        for (const h of heads) h.dispose();
      });
    }
  }

  it('after training, its ONNX predictions equal the TF.js head carrying the written weights and statistics', async () => {
    const k = 3;
    const train = localDefects(60, k, 3);
    const test = localDefects(30, k, 4);
    const head = buildHead({ kind: 'spatial', filters: 8, pooling: 'max', numClasses: k, inputShape: MAP, seed: 2 });
    const r = await trainClassifier({ head, train: { x: train.x, shape: MAP, y: train.y }, numClasses: k, epochs: 25, batchSize: 12, learningRate: 0.01, earlyStopping: false, restoreBest: false });
    expect(r.path).toBe('spatial');
    expect(r.stepEngine).toBe('onnxruntime');
    const made = await OnnxSpatialStepper.create(head, 'adam', k, MAP);
    if (!('stepper' in made)) throw new Error(made.reason);
    // A fresh stepper reads the layer's moving statistics: its forward must be the TF.js head's.
    const viaOnnx = await made.stepper.predict(test.x, test.y.length);
    const viaTfjs = tf.tidy(() => (head.predict(tf.tensor(test.x, [test.y.length, ...MAP])) as tf.Tensor).dataSync() as Float32Array);
    for (const [i, v] of viaTfjs.entries()) expect(viaOnnx[i]).toBeCloseTo(v, 4);
    // And it learned the local signal that average pooling of the raw map would dilute.
    let hits = 0;
    for (let i = 0; i < test.y.length; i++) {
      let arg = 0;
      for (let j = 1; j < k; j++) if ((viaTfjs[i * k + j] as number) > (viaTfjs[i * k + arg] as number)) arg = j;
      if (arg === test.y[i]) hits++;
    }
    expect(hits / test.y.length).toBeGreaterThanOrEqual(0.9);
    head.dispose();
  });

  it('trains through TF.js autodiff when ONNX Runtime is not to be used, on the same model', async () => {
    const k = 3;
    const train = localDefects(30, k, 5);
    const head = buildHead({ kind: 'spatial', filters: 4, pooling: 'max', numClasses: k, inputShape: MAP, seed: 2 });
    const r = await trainClassifier({ head, train: { x: train.x, shape: MAP, y: train.y }, numClasses: k, epochs: 2, batchSize: 10, denseEngine: 'js' });
    expect(r.path).toBe('spatial');
    expect(r.stepEngine).toBe('tfjs');
    expect(r.stepFallbackReason).toBe('denseEngine: js');
    expect(r.history).toHaveLength(2);
    head.dispose();
  });

  it('trained on projected maps, it writes a full-size kernel whose TF.js predictions on the full maps equal its own', async () => {
    const k = 3;
    const train = localDefects(45, k, 8);
    const [h, w, c] = MAP as [number, number, number];
    const projection = await fitChannelProjection([{ x: train.x, y: train.y }], h * w, c, 6, 3);
    const reduced = [h, w, 6];
    const xr = await projectChannels(train.x, projection);
    expect(xr.length).toBe(train.y.length * h * w * 6);
    const head = buildHead({ kind: 'spatial', filters: 5, pooling: 'avgmax', numClasses: k, inputShape: MAP, seed: 9 });
    const r = await trainClassifier({ head, train: { x: xr, shape: reduced, y: train.y }, numClasses: k, epochs: 5, batchSize: 9, channelProjection: projection });
    expect(r.stepEngine).toBe('onnxruntime');
    const kernel = head.getLayer('head_conv').getWeights()[0] as tf.Tensor;
    expect(kernel.shape).toEqual([1, 1, c, 5]);
    const made = await OnnxSpatialStepper.create(head, 'adam', k, reduced, projection);
    if (!('stepper' in made)) throw new Error(made.reason);
    const viaProjected = await made.stepper.predict(xr, train.y.length);
    const viaFull = tf.tidy(() => (head.predict(tf.tensor(train.x, [train.y.length, ...MAP])) as tf.Tensor).dataSync() as Float32Array);
    for (const [i, v] of viaFull.entries()) expect(viaProjected[i]).toBeCloseTo(v, 4);
    head.dispose();
  });
});

describe('channel projection', () => {
  it('finds an orthonormal basis of the directions the channels vary in', async () => {
    // 12 channels that vary only in 3 fixed directions (plus a constant offset, which PCA ignores).
    const rand = seededRandom(4);
    const dirs = Array.from({ length: 3 }, () => Array.from({ length: 12 }, () => rand() - 0.5));
    const rows = 600;
    const x = new Float32Array(rows * 12);
    for (let r = 0; r < rows; r++) {
      const coef = dirs.map(() => rand() * 4 - 2);
      for (let ch = 0; ch < 12; ch++) x[r * 12 + ch] = 5 + dirs.reduce((a, d, j) => a + (d[ch] as number) * (coef[j] as number), 0);
    }
    const p = await fitChannelProjection([{ x, y: Array.from({ length: rows }, (_, i) => i % 2) }], 1, 12, 3);
    // Orthonormal columns.
    for (let a = 0; a < 3; a++) {
      for (let b = 0; b < 3; b++) {
        let dot = 0;
        for (let ch = 0; ch < 12; ch++) dot += (p.matrix[ch * 3 + a] as number) * (p.matrix[ch * 3 + b] as number);
        expect(dot).toBeCloseTo(a === b ? 1 : 0, 4);
      }
    }
    // Each true direction lies in the subspace: projecting and lifting it back loses nothing.
    for (const d of dirs) {
      const v = Float32Array.from(d);
      const back = unprojectKernel(p, projectKernel(p, v, 1), 1);
      for (const [ch, val] of v.entries()) expect(back[ch]).toBeCloseTo(val, 3);
    }
  });
});
