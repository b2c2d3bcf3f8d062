import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { type FrozenBackbone, freezeBackbone, loadBackbone } from '../../src/model/backbone.ts';
import { OnnxFinetuneStepper } from '../../src/model/finetune-stepper.ts';
import { buildHead } from '../../src/model/head.ts';
import { AutodiffStepper, headForward } from '../../src/model/stepper.ts';
import { seededRandom, trainClassifier } from '../../src/model/train.ts';

const K = 3;
const ROWS = 6;

beforeAll(async () => {
  await initBackend();
});

/** Real boundary activations: random images through the frozen part of the bundled MobileNetV2. */
function boundaryBatch(f: FrozenBackbone, rows: number, seed: number): Float32Array {
  return tf.tidy(() => {
    const images = tf.randomUniform([rows, f.inputSize, f.inputSize, 3], 0, 255, 'float32', seed);
    return Float32Array.from(((f.frozen as tf.LayersModel).predict(images) as tf.Tensor).dataSync() as Float32Array);
  });
}

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

/** max |a − b| over max |b|: the error relative to the tensor's scale (elementwise ratios blow up near zero). */
function relErr(a: Float32Array, b: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return diff / Math.max(scale, 1e-12);
}

/** TF.js autodiff gradients of the class-weighted mean cross-entropy, blocks (BN inference) + head (BN training). */
function tfjsGradients(f: FrozenBackbone, blocks: tf.LayersModel, head: tf.LayersModel, x: Float32Array, y: Int32Array, w: Float32Array): Map<tf.Variable, Float32Array> {
  const vars = [...head.trainableWeights, ...blocks.trainableWeights].map((v) => v.read() as tf.Variable);
  const { grads } = tf.variableGrads(() => {
    const feats = blocks.apply(tf.tensor(x, [y.length, ...f.boundaryShape])) as tf.Tensor;
    const p = headForward(head, feats, true);
    const onehot = tf.oneHot(tf.tensor1d(y, 'int32'), K).toFloat();
    const ce = tf.neg(tf.sum(tf.mul(onehot, tf.log(tf.clipByValue(p, 1e-7, 1))), 1));
    return tf.mean(tf.mul(ce, tf.tensor1d(w))) as tf.Scalar;
  }, vars);
  const out = new Map<tf.Variable, Float32Array>();
  for (const v of vars) {
    out.set(v, Float32Array.from(grads[v.name]?.dataSync() as Float32Array));
  }
  tf.dispose(grads);
  return out;
}

// The fine-tuning graph's hand-written backward pass against TF.js autodiff on the bundled
// MobileNetV2's own blocks, weights and real activations. Tolerance: max |Δ| / max |g| < 1e-3 per
// tensor (float32 sums in a different order differ around 1e-6 relative; a wrong term is off by
// far more than 1e-2).
describe('ONNX fine-tuning graph', () => {
  for (const [cutAt, blocks, what] of [
    ['block_13_expand_relu', 2, 'block_12 (stride-1 depthwise, residual add) + block_13 expand'],
    ['block_16_expand_relu', 4, 'block_13 (stride-2 depthwise after ZeroPadding2D) … block_16 expand, two residual adds'],
  ] as const) {
    it(`gradients of every block and head tensor match TF.js autodiff: ${what}`, async () => {
      const backbone = await loadBackbone({ inputSize: 64, cutAt });
      const f = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: blocks });
      const trainable = f.trainable as tf.LayersModel;
      const head = buildHead({ kind: 'spatial', filters: 8, pooling: 'avgmax', dropout: 0, numClasses: K, inputShape: f.outputShape, seed: 5 });
      const made = await OnnxFinetuneStepper.create(head, trainable, 'adam', K, f.boundaryShape);
      if (!('stepper' in made)) throw new Error(made.reason);
      const x = boundaryBatch(f, ROWS, 3);
      const y = Int32Array.from({ length: ROWS }, (_, i) => i % K);
      const w = Float32Array.from({ length: ROWS }, (_, i) => 1 + (i % K) * 0.5);
      const ours = await made.stepper.gradients(x, y, w, seededRandom(1), 'finetune');
      const reference = tfjsGradients(f, trainable, head, x, y, w);
      const headLayer = (name: string, i: number) => head.getLayer(name).weights[i]?.read() as tf.Variable;
      const checks: [string, Float32Array, Float32Array][] = [
        ['head_conv kernel', ours.g_wc as Float32Array, reference.get(headLayer('head_conv', 0)) as Float32Array],
        ['head_bn gamma', ours.g_gamma as Float32Array, reference.get(headLayer('head_bn', 0)) as Float32Array],
        ['head_bn beta', ours.g_beta as Float32Array, reference.get(headLayer('head_bn', 1)) as Float32Array],
        ['head_output kernel', ours.g_wd as Float32Array, reference.get(headLayer('head_output', 0)) as Float32Array],
        ['head_output bias', ours.g_bd as Float32Array, reference.get(headLayer('head_output', 1)) as Float32Array],
      ];
      let blockTensors = 0;
      for (const layer of trainable.layers) {
        layer.weights.forEach((v, i) => {
          if (!v.trainable) return;
          const got = ours[`${layer.name}:${i}`];
          expect(got, `${layer.name} weight ${i} has a gradient`).toBeDefined();
          checks.push([`${layer.name} ${v.originalName}`, got as Float32Array, reference.get(v.read() as tf.Variable) as Float32Array]);
          blockTensors++;
        });
      }
      // Every conv kernel, depthwise kernel, γ and β of the unfrozen blocks.
      expect(blockTensors).toBe(trainable.trainableWeights.length);
      for (const [name, got, want] of checks) {
        expect(got.length, name).toBe(want.length);
        expect(relErr(got, want), name).toBeLessThan(1e-3);
        // Not vacuous: the gradient is there.
        expect(maxAbs(want), name).toBeGreaterThan(0);
      }
      head.dispose();
      trainable.dispose();
    });
  }

  it('steps (momentum SGD) as TF.js autodiff does, and writes weights the TF.js models then predict with', async () => {
    const backbone = await loadBackbone({ inputSize: 64 });
    const f = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2 });
    const twins = await Promise.all([0, 1].map(async () => {
      const blocks = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2 });
      return { blocks: blocks.trainable as tf.LayersModel, head: buildHead({ kind: 'spatial', filters: 8, pooling: 'max', dropout: 0, numClasses: K, inputShape: f.outputShape, seed: 9 }) };
    }));
    const [a, b] = twins as [(typeof twins)[0], (typeof twins)[0]];
    const made = await OnnxFinetuneStepper.create(a.head, a.blocks, 'sgd', K, f.boundaryShape);
    if (!('stepper' in made)) throw new Error(made.reason);
    const reference = new AutodiffStepper(b.head, b.blocks, 'sgd', f.boundaryShape, K);
    const layers = a.blocks.layers.filter((l) => l.trainableWeights.length);
    const initial = new Map(layers.map((l) => [l.name, l.getWeights().map((t) => Float32Array.from(t.dataSync() as Float32Array))]));
    const rand = seededRandom(2);
    for (let s = 0; s < 3; s++) {
      const x = boundaryBatch(f, ROWS, 10 + s);
      const y = Int32Array.from({ length: ROWS }, (_, i) => (i + s) % K);
      const w = new Float32Array(ROWS).fill(1);
      const phase = s === 0 ? 'head' : 'finetune';
      const got = await made.stepper.step(x, y, w, 0.01, rand, phase);
      const want = reference.step(x, y, w, 0.01, rand, phase);
      expect(got.loss).toBeCloseTo(want.loss, 4);
    }
    made.stepper.finish();
    // What a head step (blocks untouched) and two fine-tuning steps changed in every block tensor.
    for (const layer of layers) {
      const before = initial.get(layer.name) as Float32Array[];
      const delta = (t: tf.Tensor, i: number) => (t.dataSync() as Float32Array).map((v, j) => v - ((before[i] as Float32Array)[j] as number));
      const mine = layer.getWeights().map(delta);
      const theirs = b.blocks.getLayer(layer.name).getWeights().map(delta);
      layer.trainableWeights.forEach((_, i) => {
        expect(maxAbs(theirs[i] as Float32Array), `${layer.name} ${i} moved`).toBeGreaterThan(0);
        expect(relErr(mine[i] as Float32Array, theirs[i] as Float32Array), `${layer.name} ${i}`).toBeLessThan(1e-3);
      });
    }
    // finish() wrote into the TF.js models: they predict what the stepper predicts.
    const x = boundaryBatch(f, 5, 99);
    const viaOrt = await made.stepper.predict(x, 5);
    const viaTfjs = tf.tidy(() => headForward(a.head, a.blocks.apply(tf.tensor(x, [5, ...f.boundaryShape])) as tf.Tensor, false).dataSync() as Float32Array);
    let worst = 0;
    for (const [i, v] of viaTfjs.entries()) worst = Math.max(worst, Math.abs(v - (viaOrt[i] as number)));
    expect(worst).toBeLessThan(1e-4);
    reference.dispose();
    for (const t of twins) {
      t.head.dispose();
      t.blocks.dispose();
    }
  });

  it('trainClassifier picks the ONNX path for blocks + spatial head, and TF.js autodiff when told to (saying why)', async () => {
    const backbone = await loadBackbone({ inputSize: 64 });
    const f = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2, headEpochs: 1 });
    const x = boundaryBatch(f, 12, 4);
    const train = { x, shape: f.boundaryShape, y: Array.from({ length: 12 }, (_, i) => i % K) };
    for (const denseEngine of ['auto', 'js'] as const) {
      const blocks = (await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2 })).trainable as tf.LayersModel;
      const head = buildHead({ kind: 'spatial', filters: 4, pooling: 'max', numClasses: K, inputShape: f.outputShape, seed: 1 });
      const r = await trainClassifier({ head, trainable: blocks, staged: f.staged, train, numClasses: K, epochs: 2, batchSize: 6, denseEngine });
      expect(r.path).toBe(denseEngine === 'auto' ? 'finetune' : 'autodiff');
      expect(r.stepEngine).toBe(denseEngine === 'auto' ? 'onnxruntime' : 'tfjs');
      expect(r.stepFallbackReason).toBe(denseEngine === 'auto' ? null : 'denseEngine: js');
      expect(r.history.map((h) => h.phase)).toEqual(['head', 'finetune']);
      head.dispose();
      blocks.dispose();
    }
  });

  it('staged head-only epochs run the blocks once (not per step) and train as running them every step does', async () => {
    const backbone = await loadBackbone({ inputSize: 64 });
    const f = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2, headEpochs: 2 });
    const train = { x: boundaryBatch(f, 14, 21), shape: f.boundaryShape, y: Array.from({ length: 14 }, (_, i) => i % K) };
    const val = { x: boundaryBatch(f, 5, 22), shape: f.boundaryShape, y: Array.from({ length: 5 }, (_, i) => (i + 1) % K) };
    const create = vi.spyOn(OnnxFinetuneStepper, 'create');
    const runs = async (blockOutputCacheBytes: number | undefined) => {
      const blocks = (await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2 })).trainable as tf.LayersModel;
      const head = buildHead({ kind: 'spatial', filters: 4, pooling: 'avgmax', dropout: 0.3, numClasses: K, inputShape: f.outputShape, seed: 3 });
      const r = await trainClassifier({ head, trainable: blocks, staged: f.staged, train, val, numClasses: K, epochs: 3, batchSize: 6, seed: 7, earlyStopping: false, restoreBest: false, blockOutputCacheBytes });
      const made = await create.mock.results.at(-1)?.value;
      const weights = [...head.getWeights(), ...blocks.getWeights()].map((t) => Float32Array.from(t.dataSync() as Float32Array));
      head.dispose();
      blocks.dispose();
      return { r, runs: { ...(made.stepper as OnnxFinetuneStepper).runs }, weights };
    };
    const cached = await runs(undefined);
    const perStep = await runs(0);
    create.mockRestore();
    expect(cached.r.history.map((h) => h.phase)).toEqual(['head', 'head', 'finetune']);
    // 3 batches of 6 per epoch: the head-only steps ran the head graph on the blocks' output, and
    // the blocks ran once over train (1 chunk) and val (1 chunk), not in each of the 6 head steps.
    expect(cached.runs).toMatchObject({ blocks: 2, head: 0, headOnMaps: 6, finetune: 3 });
    expect(perStep.runs).toMatchObject({ blocks: 0, head: 6, headOnMaps: 0, finetune: 3 });
    // Same seed, same steps: the same losses and weights, to float32 rounding.
    cached.r.history.forEach((h, i) => {
      const ref = perStep.r.history[i] as (typeof cached.r.history)[number];
      expect(h.loss).toBeCloseTo(ref.loss, 5);
      expect(h.valLoss as number).toBeCloseTo(ref.valLoss as number, 5);
    });
    expect(cached.weights.length).toBe(perStep.weights.length);
    for (const [i, w] of cached.weights.entries()) expect(relErr(w, perStep.weights[i] as Float32Array), `weight ${i}`).toBeLessThan(1e-4);
  });
});
