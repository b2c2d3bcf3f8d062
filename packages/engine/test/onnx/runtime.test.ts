import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import {
  cachedFeatureExtractor,
  createFeatureExtractor,
  createOnnxFeatureExtractor,
  isOnnxRuntimeAvailable,
  OnnxRuntimeUnavailableError,
  type OrtLoader,
} from '../../src/onnx/index.ts';
import { ProtoWriter } from '../../src/onnx/protobuf.ts';
import { maxDiff, pseudoImages, RELATIVE_TOLERANCE, randomizeWeights, tfjsRun } from './helpers.ts';

/** What a machine without the optional package looks like. */
const missingRuntime: OrtLoader = () => Promise.reject(new Error("Cannot find package 'onnxruntime-node' imported from engine"));
/** A package that imports but whose native binding fails (wrong glibc, missing .so …). */
const brokenRuntime: OrtLoader = async () => ({
  InferenceSession: { create: () => Promise.reject(new Error('libonnxruntime.so.1: cannot open shared object file')) },
  Tensor: class {
    readonly data = null;
    readonly dims = [];
  } as never,
});

function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [12, 12, 3] });
  const c = tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', name: 'c' }).apply(input);
  const bn = tf.layers.batchNormalization({ name: 'bn' }).apply(c);
  const y = tf.layers.reLU({ maxValue: 6, name: 'r' }).apply(bn) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  randomizeWeights(model, 3);
  return model;
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('ONNX Runtime availability and fallback to TF.js', () => {
  it('reports why ONNX Runtime is unavailable instead of throwing', async () => {
    const missing = await isOnnxRuntimeAvailable(missingRuntime);
    expect(missing.ok).toBe(false);
    if (!missing.ok) expect(missing.reason).toMatch(/onnxruntime-node unavailable: Cannot find package/);
    const broken = await isOnnxRuntimeAvailable(brokenRuntime);
    if (!broken.ok) expect(broken.reason).toMatch(/cannot open shared object/);
    else throw new Error('a failing native binding must not count as available');
  });

  it('createOnnxFeatureExtractor rejects with OnnxRuntimeUnavailableError', async () => {
    await expect(createOnnxFeatureExtractor(smallModel(), { loadRuntime: missingRuntime })).rejects.toBeInstanceOf(OnnxRuntimeUnavailableError);
  });

  it('createFeatureExtractor falls back to TF.js with the reason, giving the TF.js features', async () => {
    const model = smallModel();
    const fx = await createFeatureExtractor(model, { loadRuntime: missingRuntime });
    expect(fx.engine).toBe('tfjs');
    expect(fx.fallbackReason).toMatch(/onnxruntime-node unavailable/);
    expect(fx.outputShape).toEqual([6, 6, 4]);
    const x = pseudoImages(2, 12);
    expect(Array.from(await fx.run(x, 2))).toEqual(Array.from(tfjsRun(model, x, 2)));
    await fx.dispose();
  });

  it('falls back to TF.js when a layer has no ONNX conversion, naming it', async () => {
    const input = tf.input({ shape: [6, 6, 3] });
    const y = tf.layers.upSampling2d({ size: [2, 2], name: 'up' }).apply(input) as tf.SymbolicTensor;
    const fx = await createFeatureExtractor(tf.model({ inputs: input, outputs: y }), { threads: 1 });
    expect(fx.engine).toBe('tfjs');
    expect(fx.fallbackReason).toMatch(/"up" \(UpSampling2D\)/);
  });

  it('uses ONNX Runtime when it is there, with the same features within tolerance', async () => {
    const availability = await isOnnxRuntimeAvailable();
    if (!availability.ok) throw new Error(`onnxruntime-node should be installed for the test suite: ${availability.reason}`);
    const model = smallModel();
    const fx = await createFeatureExtractor(model, { threads: 1, pool: 'avgmax' });
    expect(fx.engine).toBe('onnxruntime');
    expect(fx.fallbackReason).toBeNull();
    expect(fx.outputShape).toEqual([8]);
    const x = pseudoImages(3, 12);
    const ref = tf.tidy(() => {
      const m = model.predict(tf.tensor4d(x, [3, 12, 12, 3])) as tf.Tensor4D;
      return tf.concat([tf.mean(m, [1, 2]), tf.max(m, [1, 2])], 1).dataSync();
    });
    const { maxAbs, scale } = maxDiff(await fx.run(x, 3), ref);
    expect(maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.max(1, scale));
    await fx.dispose();
    await expect(fx.run(x, 3)).rejects.toThrowError(/after dispose/);
  });
});

describe('ONNX Runtime in a worker thread', () => {
  it('gives the in-thread session\'s features while the event loop keeps running, and stops on dispose', async () => {
    const input = tf.input({ shape: [96, 96, 3] });
    let y = input as tf.SymbolicTensor;
    for (let i = 0; i < 6; i++) y = tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: `c${i}` }).apply(y) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    randomizeWeights(model, 5);
    const x = pseudoImages(8, 96);
    const inThread = await createOnnxFeatureExtractor(model, { threads: 1, inWorker: false, pool: 'avg' });
    const inWorker = await createOnnxFeatureExtractor(model, { threads: 1, pool: 'avg' });
    const expected = await inThread.run(x, 8);
    // Timers fire during the worker's run; in the calling thread the same run would hold them back.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    const got = await inWorker.run(x, 8);
    const ms = performance.now() - started;
    clearInterval(timer);
    expect(Array.from(got)).toEqual(Array.from(expected));
    expect(ms).toBeGreaterThan(20); // ≈ 8 GFLOP: long enough to see timers
    expect(ticks).toBeGreaterThan(ms / 10);
    await inWorker.dispose();
    await expect(inWorker.run(x, 8)).rejects.toThrowError(/after dispose/);
    await inThread.dispose();
  });
});

describe('cachedFeatureExtractor', () => {
  it('reuses the session for the same model and options, and rebuilds it after the weights change', async () => {
    const model = smallModel();
    const a = await cachedFeatureExtractor(model, { threads: 1 });
    expect(await cachedFeatureExtractor(model, { threads: 1 })).toBe(a);
    expect(await cachedFeatureExtractor(model, { threads: 1, pool: 'avg' })).not.toBe(a);
    const x = pseudoImages(2, 12);
    const before = await a.run(x, 2);
    randomizeWeights(model, 99); // what training or setWeights does: new weight storage
    const b = await cachedFeatureExtractor(model, { threads: 1 });
    expect(b).not.toBe(a);
    const after = await b.run(x, 2);
    const { maxAbs, scale } = maxDiff(after, tfjsRun(model, x, 2));
    expect(maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.max(1, scale));
    expect(maxDiff(before, after).maxAbs).toBeGreaterThan(1e-3);
  });
});

describe('protobuf writer', () => {
  it('writes varints, negative int64 as ten bytes, floats little-endian', () => {
    expect(Array.from(new ProtoWriter().int(1, 300).finish())).toEqual([8, 172, 2]);
    const neg = new ProtoWriter().int(2, -1).finish();
    expect(Array.from(neg)).toEqual([16, 255, 255, 255, 255, 255, 255, 255, 255, 255, 1]);
    expect(Array.from(new ProtoWriter().float(3, 1).finish())).toEqual([29, 0, 0, 128, 63]);
    expect(Array.from(new ProtoWriter().message(4, (w) => w.string(1, 'ab')).finish())).toEqual([34, 4, 10, 2, 97, 98]);
  });
});
