import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { extractFeatures, type Pooling } from '../../src/model/features.ts';
import type { OrtLoader } from '../../src/onnx/runtime.ts';
import { maxDiff, pseudoImages, RELATIVE_TOLERANCE, randomizeWeights } from '../onnx/helpers.ts';

const SIZE = 16;
const missingRuntime: OrtLoader = () => Promise.reject(new Error("Cannot find package 'onnxruntime-node' imported from engine"));

/** conv → BN → ReLU6 → depthwise → BN → ReLU6: the MobileNetV2 pattern the converter folds. */
function frozenPart(): tf.LayersModel {
  const input = tf.input({ shape: [SIZE, SIZE, 3] });
  let x = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', useBias: false, name: 'c1' }).apply(input);
  x = tf.layers.batchNormalization({ name: 'bn1' }).apply(x);
  x = tf.layers.reLU({ maxValue: 6, name: 'r1' }).apply(x);
  x = tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', useBias: false, name: 'dw' }).apply(x);
  x = tf.layers.batchNormalization({ name: 'bn2' }).apply(x);
  const y = tf.layers.reLU({ maxValue: 6, name: 'r2' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: y });
  randomizeWeights(model, 5);
  return model;
}

function asImages(n: number): Float32Array[] {
  const all = pseudoImages(n, SIZE);
  const per = SIZE * SIZE * 3;
  return Array.from({ length: n }, (_, i) => all.slice(i * per, (i + 1) * per));
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('extractFeatures engine selection', () => {
  const model = frozenPart();
  const images = asImages(11); // not a multiple of the batch: the last batch is short

  for (const pool of [null, 'avg', 'avgmax'] as (Pooling | null)[]) {
    it(`runs in ONNX Runtime and matches the TF.js features (pool ${pool ?? 'none'})`, async () => {
      const logs: string[] = [];
      const ort = await extractFeatures(model, images, { pool, batchSize: 4, threads: 1, log: (m) => logs.push(m) });
      const ref = await extractFeatures(model, images, { pool, batchSize: 4, engine: 'tfjs' });
      expect(ort.engine).toEqual({ name: 'onnxruntime', threads: 1, fallbackReason: null });
      expect(logs).toEqual(['features: onnxruntime (1 thread), batch 4, 11 images']);
      expect(ref.engine?.name).toBe('tfjs');
      expect(ort.shape).toEqual(ref.shape);
      expect(ort.shape).toEqual(pool ? [pool === 'avgmax' ? 16 : 8] : [8, 8, 8]);
      const { maxAbs, scale } = maxDiff(ort.data, ref.data);
      expect(maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE * Math.max(1, scale));
      expect(scale).toBeGreaterThan(0);
    });
  }

  it('loads images on demand through the ORT path, in order', async () => {
    const source = { count: images.length, load: async (s: number, e: number) => images.slice(s, e) };
    const a = await extractFeatures(model, source, { pool: 'avg', batchSize: 3, threads: 1 });
    const b = await extractFeatures(model, images, { pool: 'avg', batchSize: 11, threads: 1 });
    expect(a.n).toBe(11);
    expect(maxDiff(a.data, b.data).maxAbs).toBeLessThanOrEqual(RELATIVE_TOLERANCE);
  });

  it('falls back to TF.js with the reason in the log when ONNX Runtime cannot load', async () => {
    const logs: string[] = [];
    const fell = await extractFeatures(model, images, { pool: 'avg', batchSize: 4, loadRuntime: missingRuntime, log: (m) => logs.push(m) });
    const ref = await extractFeatures(model, images, { pool: 'avg', batchSize: 4, engine: 'tfjs' });
    expect(fell.engine?.name).toBe('tfjs');
    expect(fell.engine?.fallbackReason).toMatch(/onnxruntime-node unavailable: Cannot find package/);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/^features: tfjs wasm, batch 4, 11 images \(ONNX Runtime not used: onnxruntime-node unavailable/);
    expect(Array.from(fell.data)).toEqual(Array.from(ref.data));
  });
});
