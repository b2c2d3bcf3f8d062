import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { type TfjsBackbone as Backbone, freezeBackbone, loadBackbone } from '../../src/model/backbone.ts';
import { DenseStepper } from '../../src/model/dense-stepper.ts';
import { OnnxDenseStepper } from '../../src/model/onnx-dense-stepper.ts';
import { extractFeatures } from '../../src/model/features.ts';
import { buildHead } from '../../src/model/head.ts';
import { AutodiffStepper } from '../../src/model/stepper.ts';
import { type LabeledArray, computeClassWeights, learningRateAt, seededRandom, trainClassifier } from '../../src/model/train.ts';
import { makeTextureImages, splitIndices } from './fixtures.ts';

const SIZE = 64;
const data = makeTextureImages({ perClass: 16, size: SIZE, seed: 3 });
const { train, test } = splitIndices(data.labels, 4);

function rows(f: { data: Float32Array; shape: number[] }, idx: number[]): LabeledArray {
  const per = f.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(idx.length * per);
  idx.forEach((i, r) => {
    x.set(f.data.subarray(i * per, (i + 1) * per), r * per);
  });
  return { x, shape: f.shape, y: idx.map((i) => data.labels[i] as number) };
}

function accuracy(head: tf.LayersModel, set: LabeledArray): number {
  const pred = tf.tidy(() => (head.predict(tf.tensor(set.x, [set.y.length, ...set.shape])) as tf.Tensor).argMax(1).dataSync());
  let ok = 0;
  for (let i = 0; i < set.y.length; i++) if (pred[i] === set.y[i]) ok++;
  return ok / set.y.length;
}

async function pooled(b: Backbone) {
  return extractFeatures(b.model, data.images, { pool: 'avg', batchSize: 16 });
}

beforeAll(async () => {
  await initBackend();
});

describe('trainClassifier', () => {
  let pretrained: Awaited<ReturnType<typeof pooled>>;
  let scratch: Awaited<ReturnType<typeof pooled>>;

  beforeAll(async () => {
    const p = await loadBackbone({ cutAt: 'block_6_expand_relu', inputSize: SIZE, });
    const s = await loadBackbone({ source: 'scratch', cutAt: 'block_6_expand_relu', inputSize: SIZE, });
    pretrained = await pooled(p);
    scratch = await pooled(s);
    p.model.dispose();
    s.model.dispose();
  });

  it('a head on cached pooled features beats chance by a wide margin', async () => {
    const head = buildHead({ numClasses: 6, inputShape: pretrained.shape, seed: 1 });
    const r = await trainClassifier({ head, train: rows(pretrained, train), val: rows(pretrained, test), numClasses: 6, epochs: 60, patience: 15 });
    expect(r.path).toBe('dense');
    const acc = accuracy(head, rows(pretrained, test));
    expect(acc).toBeGreaterThan(0.6); // chance is 1/6
    expect(r.history[0]?.lr).toBeCloseTo(1e-3);
    expect(r.bestEpoch).toBeGreaterThan(0);
    expect(r.history.length).toBeLessThanOrEqual(60);
    head.dispose();
  });

  it('pretrained features beat scratch ones at the same small budget', async () => {
    const accs: number[] = [];
    for (const f of [pretrained, scratch]) {
      const head = buildHead({ numClasses: 6, inputShape: f.shape, seed: 1 });
      await trainClassifier({ head, train: rows(f, train), val: rows(f, test), numClasses: 6, epochs: 40, earlyStopping: false });
      accs.push(accuracy(head, rows(f, test)));
      head.dispose();
    }
    expect(accs[0]).toBeGreaterThan((accs[1] as number) + 0.1);
  });

  it('leaks no tensors over two training runs', async () => {
    const run = async () => {
      const head = buildHead({ numClasses: 6, inputShape: pretrained.shape, seed: 2 });
      await trainClassifier({ head, train: rows(pretrained, train), val: rows(pretrained, test), numClasses: 6, epochs: 5 });
      head.dispose();
    };
    await run();
    const before = tf.memory().numTensors;
    await run();
    await run();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('stops promptly when the signal aborts', async () => {
    const head = buildHead({ numClasses: 6, inputShape: pretrained.shape, seed: 1 });
    const controller = new AbortController();
    const before = tf.memory().numTensors;
    let epochs = 0;
    const run = trainClassifier({
      head,
      train: rows(pretrained, train),
      numClasses: 6,
      epochs: 500,
      earlyStopping: false,
      signal: controller.signal,
      onEpoch: () => {
        epochs++;
        if (epochs === 2) controller.abort();
      },
    });
    await expect(run).rejects.toThrow(/cancelled/);
    expect(epochs).toBe(2);
    expect(tf.memory().numTensors).toBe(before);
    head.dispose();
  });

  it('staged fine-tuning trains backbone blocks on the wasm backend (bridged gradient kernels)', async () => {
    const b = await loadBackbone({ cutAt: 'block_6_expand_relu', inputSize: SIZE, });
    const f = await freezeBackbone(b, { mode: 'staged', unfreezeBlocks: 1, headEpochs: 1, fineTuneLrFactor: 0.1 });
    const maps = await extractFeatures(f.frozen, data.images.slice(0, 24), { batchSize: 12 });
    const before = f.trainable?.getWeights().map((w) => w.dataSync().slice()) ?? [];
    const head = buildHead({ numClasses: 6, inputShape: f.outputShape, seed: 1 });
    const set = { x: maps.data, shape: maps.shape, y: data.labels.slice(0, 24) };
    const r = await trainClassifier({ head, trainable: f.trainable, staged: f.staged, train: set, numClasses: 6, epochs: 2, batchSize: 12, restoreBest: false });
    expect(r.path).toBe('autodiff');
    expect(r.history.map((h) => h.phase)).toEqual(['head', 'finetune']);
    const after = f.trainable?.getWeights().map((w) => w.dataSync()) ?? [];
    const changed = after.some((w, i) => w.some((v, j) => v !== before[i]?.[j]));
    expect(changed).toBe(true);
    head.dispose();
    f.trainable?.dispose();
    b.model.dispose();
  });
});

describe('dense fast path', () => {
  it('matches autodiff + tf.train optimizers step for step', async () => {
    const d = 12;
    const k = 3;
    const x = Float32Array.from({ length: 8 * d }, (_, i) => Math.sin(i));
    const y = Int32Array.from({ length: 8 }, (_, i) => i % k);
    const w = Float32Array.from({ length: 8 }, (_, i) => 1 + (i % 2));
    for (const opt of ['adam', 'sgd'] as const) {
      const h1 = buildHead({ numClasses: k, inputShape: [d], seed: 3, dropout: 0, hidden: 8 });
      const h2 = buildHead({ numClasses: k, inputShape: [d], seed: 3, dropout: 0, hidden: 8 });
      const dense = new DenseStepper(h1, opt, k);
      const auto = new AutodiffStepper(h2, null, opt, [d], k);
      for (let s = 0; s < 3; s++) {
        const a = dense.step(x, y, w, 0.01, () => 0.5);
        const b = auto.step(x, y, w, 0.01, () => 0.5, 'train');
        expect(a.loss).toBeCloseTo(b.loss, 4);
      }
      dense.finish();
      auto.dispose();
      const w1 = h1.getWeights().map((t) => t.dataSync());
      const w2 = h2.getWeights().map((t) => t.dataSync());
      w1.forEach((a, i) => {
        a.forEach((v, j) => {
          expect(v).toBeCloseTo(w2[i]?.[j] as number, 4);
        });
      });
      h1.dispose();
      h2.dispose();
    }
  });
});

describe('dense path on ONNX Runtime + wasm SIMD', () => {
  it('makes the same updates as DenseStepper, dropout included, with Adam and momentum SGD', async () => {
    const d = 40;
    const k = 4;
    const rows = 10;
    const x = Float32Array.from({ length: rows * d }, (_, i) => Math.abs(Math.sin(i * 0.7)));
    const y = Int32Array.from({ length: rows }, (_, i) => i % k);
    const w = Float32Array.from({ length: rows }, (_, i) => 0.5 + (i % 3));
    for (const opt of ['adam', 'sgd'] as const) {
      const h1 = buildHead({ numClasses: k, inputShape: [d], seed: 5, dropout: 0.3, hidden: 9 });
      const h2 = buildHead({ numClasses: k, inputShape: [d], seed: 5, dropout: 0.3, hidden: 9 });
      const made = await OnnxDenseStepper.create(h1, opt, k);
      if (!('stepper' in made)) throw new Error(made.reason);
      const fast = made.stepper;
      const js = new DenseStepper(h2, opt, k);
      const r1 = seededRandom(9);
      const r2 = seededRandom(9);
      for (let s = 0; s < 5; s++) {
        const a = await fast.step(x, y, w, 0.02, r1);
        const b = js.step(x, y, w, 0.02, r2);
        expect(a.loss).toBeCloseTo(b.loss, 5);
        expect(a.hits).toBe(b.hits);
      }
      const pa = await fast.predict(x, rows);
      const pb = js.predict(x, rows);
      for (const [i, v] of pa.entries()) expect(v).toBeCloseTo(pb[i] as number, 5);
      fast.finish();
      js.finish();
      const w1 = h1.getWeights().map((t) => t.dataSync());
      const w2 = h2.getWeights().map((t) => t.dataSync());
      w1.forEach((a, i) => {
        a.forEach((v, j) => {
          expect(v).toBeCloseTo(w2[i]?.[j] as number, 5);
        });
      });
      h1.dispose();
      h2.dispose();
    }
  });

  it('trainClassifier reports the engine it stepped with, and the forced JS path agrees with it', async () => {
    const set = { x: Float32Array.from({ length: 60 * 16 }, (_, i) => ((i * 37) % 101) / 101), shape: [16], y: Array.from({ length: 60 }, (_, i) => i % 3) };
    const results: Awaited<ReturnType<typeof trainClassifier>>[] = [];
    for (const denseEngine of ['auto', 'js'] as const) {
      const head = buildHead({ numClasses: 3, inputShape: [16], seed: 4 });
      const r = await trainClassifier({ head, train: set, numClasses: 3, epochs: 3, batchSize: 16, denseEngine });
      results.push(r);
      head.dispose();
    }
    expect(results[0]?.stepEngine).toBe('onnxruntime');
    expect(results[0]?.stepFallbackReason).toBeNull();
    expect(results[1]?.stepEngine).toBe('tfjs');
    expect(results[0]?.history.length).toBe(3);
    for (const [i, h] of (results[0]?.history ?? []).entries()) expect(h.loss).toBeCloseTo(results[1]?.history[i]?.loss as number, 4);
  });
});

describe('batch events', () => {
  it('spreads batchEventsPerEpoch onBatch calls over each epoch, always the last batch, whatever the set size', async () => {
    const set = { x: Float32Array.from({ length: 60 * 16 }, (_, i) => ((i * 37) % 101) / 101), shape: [16], y: Array.from({ length: 60 }, (_, i) => i % 3) };
    const head = buildHead({ numClasses: 3, inputShape: [16], seed: 4 });
    const seen: { epoch: number; batch: number; batches: number }[] = [];
    await trainClassifier({ head, train: set, numClasses: 3, epochs: 2, batchSize: 4, batchEventsPerEpoch: 2, earlyStopping: false, onBatch: (b) => seen.push(b) });
    const first = seen.filter((b) => b.epoch === 1);
    expect(first[0]?.batches).toBe(15);
    // Every ceil(15 / 2) = 8th batch (1 and 9) plus the last (15).
    expect(first.map((b) => b.batch)).toEqual([1, 9, 15]);
    expect(seen.filter((b) => b.epoch === 2)).toHaveLength(3);
    head.dispose();
  });
});

describe('helpers', () => {
  it('balanced class weights follow n / (k · count)', () => {
    expect(computeClassWeights([0, 0, 0, 1], 2, 'balanced')).toEqual([4 / 6, 2]);
    expect(computeClassWeights([0, 1], 3, 'balanced')).toEqual([1, 1, 0]);
    expect(computeClassWeights([0, 1], 2, 'none')).toEqual([1, 1]);
  });
  it('cosine schedule decays from the base rate towards zero; step divides by 10', () => {
    expect(learningRateAt('cosine', 0.1, 0, 10)).toBeCloseTo(0.1);
    expect(learningRateAt('cosine', 0.1, 5, 10)).toBeCloseTo(0.05);
    expect(learningRateAt('step', 0.1, 9, 9)).toBeCloseTo(0.001);
    expect(learningRateAt('constant', 0.1, 7, 10)).toBe(0.1);
  });
});
