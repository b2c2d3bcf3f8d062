import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { loadBackbone } from '../../src/model/backbone.ts';
import { poolFeatureMap } from '../../src/model/features.ts';
import {
  convertLayersModelToOnnx,
  convertLayersModelToOnnxDetailed,
  createOnnxFeatureExtractor,
  exportOnnx,
  isOnnxRuntimeAvailable,
  loadOnnxRuntime,
  samePads,
  UnsupportedLayerError,
} from '../../src/onnx/index.ts';
import { maxDiff, pseudoImages, RELATIVE_TOLERANCE, randomizeWeights, tfjsRun } from './helpers.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
  const ort = await isOnnxRuntimeAvailable();
  // onnxruntime-node is an optional dependency, but these tests are about running it: say why they fail.
  if (!ort.ok) throw new Error(`ONNX tests need onnxruntime-node installed (npm ci --ignore-scripts keeps it): ${ort.reason}`);
});

async function expectSameFeatures(model: tf.LayersModel, n: number, options: { inputSize?: number } = {}) {
  const inputShape = (model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? options.inputSize ?? 0);
  const x = pseudoImages(n, inputShape[0] as number, inputShape[1] as number, inputShape[2] as number);
  const ref = tfjsRun(model, x, n);
  const fx = await createOnnxFeatureExtractor(model, { inputSize: options.inputSize, threads: 1 });
  try {
    expect(fx.engine).toBe('onnxruntime');
    expect(fx.outputShape).toEqual((model.outputs[0]?.shape ?? []).slice(1));
    const got = await fx.run(x, n);
    const { maxAbs, scale } = maxDiff(got, ref);
    expect(scale).toBeGreaterThan(0);
    expect(maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.max(1, scale));
    return { maxAbs, scale };
  } finally {
    await fx.dispose();
  }
}

/** A user-style model touching every supported layer kind, sized so "same" pads are asymmetric. */
function userModel(size = 33): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [size, size, 3], name: 'img' });
  const scaled = L.rescaling({ scale: 1 / 127.5, offset: -1, name: 'pre' }).apply(input) as tf.SymbolicTensor;
  const c1 = L.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', name: 'c1' }).apply(scaled);
  const bn1 = L.batchNormalization({ name: 'bn1' }).apply(c1); // after an activation: stays a Mul/Add
  const dw = L.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, padding: 'same', useBias: false, name: 'dw' }).apply(bn1);
  const bn2 = L.batchNormalization({ name: 'bn2' }).apply(dw); // folds into dw
  const r6 = L.reLU({ maxValue: 6, name: 'r6' }).apply(bn2) as tf.SymbolicTensor;
  const dil = L.conv2d({ filters: 16, kernelSize: 3, dilationRate: 2, padding: 'same', name: 'dil' }).apply(r6);
  const sum = L.add({ name: 'sum' }).apply([r6, dil as tf.SymbolicTensor]) as tf.SymbolicTensor;
  const leaky = L.leakyReLU({ alpha: 0.2, name: 'leaky' }).apply(sum);
  // Branch A: MobileNetV2-style asymmetric ZeroPadding2D + valid stride-2 conv (17 → 18 → 8).
  const zp = L.zeroPadding2d({ padding: [[0, 1], [1, 0]], name: 'zp' }).apply(leaky);
  const a = L.conv2d({ filters: 12, kernelSize: 3, strides: 2, padding: 'valid', name: 'a_conv' }).apply(zp);
  const aBn = L.batchNormalization({ name: 'a_bn' }).apply(a);
  const aAct = L.activation({ activation: 'tanh', name: 'a_tanh' }).apply(aBn);
  // Branch B: pooling 17 → 8.
  const b = L.maxPooling2d({ poolSize: 2, strides: 2, padding: 'valid', name: 'b_pool' }).apply(leaky);
  const cat = L.concatenate({ axis: -1, name: 'cat' }).apply([aAct as tf.SymbolicTensor, b as tf.SymbolicTensor]);
  const avg = L.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'avg' }).apply(cat); // 8 → 4, edges exclude pads
  const mp = L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same', name: 'mp' }).apply(cat);
  const mul = L.multiply({ name: 'mul' }).apply([avg as tf.SymbolicTensor, mp as tf.SymbolicTensor]);
  const sig = L.conv2d({ filters: 6, kernelSize: 1, activation: 'sigmoid', name: 'sig' }).apply(mul) as tf.SymbolicTensor;
  const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(sig);
  const gmp = L.globalMaxPooling2d({ name: 'gmp' }).apply(sig);
  const flat = L.flatten({ name: 'flat' }).apply(sig); // NHWC order matters for the Dense after it
  const d1 = L.dense({ units: 10, activation: 'relu', name: 'd1' }).apply(L.concatenate({ name: 'pooled' }).apply([gap, gmp] as tf.SymbolicTensor[]));
  const d1bn = L.batchNormalization({ name: 'd1_bn' }).apply(d1);
  const drop = L.dropout({ rate: 0.5, name: 'drop' }).apply(d1bn);
  const probs = L.dense({ units: 5, activation: 'softmax', name: 'probs' }).apply(drop);
  const fromFlat = L.dense({ units: 4, name: 'from_flat' }).apply(flat);
  const out = L.concatenate({ name: 'out' }).apply([probs, fromFlat] as tf.SymbolicTensor[]) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out, name: 'user_model' });
  randomizeWeights(model);
  return model;
}

describe('samePads (TF "same": the odd pixel goes bottom/right)', () => {
  it('matches TensorFlow for stride 1 and 2', () => {
    expect(samePads(224, 3, 2)).toEqual([0, 1]);
    expect(samePads(7, 3, 2)).toEqual([1, 1]);
    expect(samePads(8, 3, 1)).toEqual([1, 1]);
    expect(samePads(9, 4, 1)).toEqual([1, 2]);
    expect(samePads(10, 3, 1, 2)).toEqual([2, 2]);
  });
});

describe('TF.js layers → ONNX, features equal to TF.js (max abs diff ≤ 1e-4 × max(1, max |feature|))', () => {
  it('MobileNetV2 (nsfwjs weights) cut at block_6_expand_relu, 64 px', async () => {
    const b = await loadBackbone({ inputSize: 64, cutAt: 'block_6_expand_relu' });
    const { scale } = await expectSameFeatures(b.model, 2);
    expect(scale).toBeLessThanOrEqual(6);
    b.model.dispose();
  });

  it('MobileNetV2 cut at out_relu, 96 px (whole convolutional part, 52 folded batch-norms)', async () => {
    const b = await loadBackbone({ inputSize: 96, cutAt: 'out_relu' });
    await expectSameFeatures(b.model, 2);
    // Batch-norm folded and ZeroPadding2D absorbed: no BatchNormalization, Mul/Add or Pad ops beyond preprocessing.
    const text = Buffer.from(convertLayersModelToOnnx(b.model)).toString('latin1');
    expect(text).not.toContain('BatchNormalization');
    expect(text).not.toMatch(/\bPad\b/);
    b.model.dispose();
  });

  it('MobileNetV2 frozen part from freeze-style split at an odd size (97 px), NHWC feature map element for element', async () => {
    const b = await loadBackbone({ inputSize: 97, cutAt: 'block_3_expand_relu' });
    await expectSameFeatures(b.model, 1);
    b.model.dispose();
  });

  it('a user-style model with every supported layer kind (33 px: asymmetric same pads)', async () => {
    const model = userModel(33);
    await expectSameFeatures(model, 3);
    model.dispose();
  });

  it('a user-style feature-map output (rank 4) comes back in NHWC order', async () => {
    const full = userModel(32);
    const cut = tf.model({ inputs: full.inputs, outputs: full.getLayer('mul').output as tf.SymbolicTensor });
    await expectSameFeatures(cut, 2);
    full.dispose();
  });

  it('Sequential models, nested inside a functional model, with an open input size', async () => {
    const inner = tf.sequential({
      name: 'inner',
      layers: [
        tf.layers.conv2d({ inputShape: [null, null, 4] as unknown as number[], filters: 4, kernelSize: 5, strides: 2, padding: 'same', name: 'inner_conv' }),
        tf.layers.batchNormalization({ name: 'inner_bn' }),
        tf.layers.activation({ activation: 'relu6', name: 'inner_act' }),
      ],
    });
    const input = tf.input({ shape: [null, null, 3], name: 'x' });
    const stem = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'elu', name: 'stem' }).apply(input) as tf.SymbolicTensor;
    const out = inner.apply(stem) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    randomizeWeights(model);
    const x = pseudoImages(2, 21, 21, 3);
    const ref = tf.tidy(() => (model.predict(tf.tensor4d(x, [2, 21, 21, 3])) as tf.Tensor).dataSync());
    const fx = await createOnnxFeatureExtractor(model, { inputSize: 21, threads: 1 });
    expect(fx.outputShape).toEqual([11, 11, 4]);
    const { maxAbs, scale } = maxDiff(await fx.run(x, 2), ref);
    expect(maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.max(1, scale));
    await fx.dispose();
    model.dispose();
  });

  it('does not fold a batch-norm into a conv whose output has other readers', async () => {
    const input = tf.input({ shape: [10, 10, 3] });
    const conv = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'shared_conv' }).apply(input) as tf.SymbolicTensor;
    const linear = tf.layers.activation({ activation: 'linear', name: 'lin' }).apply(conv);
    const bn = tf.layers.batchNormalization({ name: 'bn_after_linear' }).apply(linear) as tf.SymbolicTensor;
    const padded = tf.layers.zeroPadding2d({ padding: 1, name: 'zp_shared' }).apply(conv) as tf.SymbolicTensor;
    const fromPad = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'after_pad' }).apply(padded) as tf.SymbolicTensor;
    const pooled = tf.layers.maxPooling2d({ poolSize: 3, strides: 1, name: 'pool_pad' }).apply(padded) as tf.SymbolicTensor;
    const out = tf.layers.concatenate({ name: 'all' }).apply([bn, conv, fromPad, pooled]) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: out });
    randomizeWeights(model, 11);
    await expectSameFeatures(model, 2);
    model.dispose();
  });

  it('pools inside the ONNX graph like poolFeatureMap (avg, max, avgmax)', async () => {
    const b = await loadBackbone({ inputSize: 64, cutAt: 'block_6_expand_relu' });
    const x = pseudoImages(2, 64);
    for (const pool of ['avg', 'max', 'avgmax'] as const) {
      const ref = tf.tidy(() => poolFeatureMap(b.model.predict(tf.tensor4d(x, [2, 64, 64, 3])) as tf.Tensor4D, pool).dataSync());
      const fx = await createOnnxFeatureExtractor(b.model, { pool, threads: 1 });
      expect(fx.outputShape).toEqual([pool === 'avgmax' ? 384 : 192]);
      const { maxAbs, scale } = maxDiff(await fx.run(x, 2), ref);
      expect(maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.max(1, scale));
      await fx.dispose();
    }
    b.model.dispose();
  });
});

describe('conversion errors and export', () => {
  it('names the unsupported layer and its class', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const up = tf.layers.upSampling2d({ size: [2, 2], name: 'upsample_here' }).apply(input) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: up });
    expect(() => convertLayersModelToOnnx(model)).toThrowError(UnsupportedLayerError);
    expect(() => convertLayersModelToOnnx(model)).toThrowError(/layer "upsample_here" \(UpSampling2D\)/);
  });

  it('names the layer when a supported class uses an unsupported setting', () => {
    const input = tf.input({ shape: [8, 8, 3] });
    const y = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'mish', name: 'odd_act' }).apply(input) as tf.SymbolicTensor;
    expect(() => convertLayersModelToOnnx(tf.model({ inputs: input, outputs: y }))).toThrowError(/"odd_act" \(Conv2D\).*"mish"/);
  });

  it('rejects an inputSize that contradicts a fixed model input, and an open size without inputSize', () => {
    const fixed = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [16, 16, 3], filters: 1, kernelSize: 1 })] });
    expect(() => convertLayersModelToOnnx(fixed, { inputSize: 32 })).toThrowError(/inputSize 32 does not match/);
    const input = tf.input({ shape: [null, null, 3] });
    const open = tf.model({ inputs: input, outputs: tf.layers.conv2d({ filters: 1, kernelSize: 1 }).apply(input) as tf.SymbolicTensor });
    expect(() => convertLayersModelToOnnx(open)).toThrowError(/pass inputSize/);
  });

  it('run() checks the batch length against n', async () => {
    const b = await loadBackbone({ inputSize: 64, cutAt: 'block_3_expand_relu' });
    const fx = await createOnnxFeatureExtractor(b.model, { threads: 1 });
    await expect(fx.run(new Float32Array(10), 1)).rejects.toThrowError(/expected 1×64×64×3/);
    await fx.dispose();
    b.model.dispose();
  });

  it('exportOnnx writes a file ONNX Runtime loads with a dynamic batch and the fixed input/output names', async () => {
    const b = await loadBackbone({ inputSize: 64, cutAt: 'block_3_expand_relu' });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'defectflow-onnx-'));
    try {
      const file = path.join(dir, 'sub', 'backbone.onnx');
      const written = await exportOnnx(b.model, file);
      expect(written.bytes).toBeGreaterThan(10_000);
      const ort = await loadOnnxRuntime();
      const session = await ort.InferenceSession.create(new Uint8Array(await fs.readFile(file)));
      const conv = convertLayersModelToOnnxDetailed(b.model);
      for (const n of [1, 3]) {
        const x = pseudoImages(n, 64);
        const out = await session.run({ input: new ort.Tensor('float32', x, [n, 64, 64, 3]) });
        expect(out.output?.dims).toEqual([n, ...conv.outputShape]);
        const { maxAbs, scale } = maxDiff(out.output?.data as Float32Array, tfjsRun(b.model, x, n));
        expect(maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.max(1, scale));
      }
      await session.release();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
      b.model.dispose();
    }
  });
});
