import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';

/** Runs `f` on a backend and returns plain arrays, so results can be compared across backends. */
async function on(backend: string, f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const data = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  return data;
}

function maxRelDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)) / (1 + Math.abs(b[i] as number)));
  return m;
}

describe('wasm gradient kernels (bridged to cpu)', () => {
  let main = 'cpu';
  beforeAll(async () => {
    main = (await initBackend()).name;
  });
  afterAll(async () => {
    await tf.setBackend(main);
  });

  const xs = Float32Array.from({ length: 2 * 9 * 9 * 4 }, (_, i) => Math.sin(i * 0.37));
  const ws = Float32Array.from({ length: 3 * 3 * 4 * 5 }, (_, i) => Math.cos(i * 0.11));
  const dws = Float32Array.from({ length: 3 * 3 * 4 * 2 }, (_, i) => Math.cos(i * 0.23));

  const convGrads = () => {
    const x = tf.tensor4d(xs, [2, 9, 9, 4]);
    const w = tf.tensor4d(ws, [3, 3, 4, 5]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))));
    return g([x, w]);
  };
  const pointwiseGrads = () => {
    const x = tf.tensor4d(xs, [2, 9, 9, 4]);
    const w = tf.tensor4d(ws.slice(0, 4 * 5), [1, 1, 4, 5]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))));
    return g([x, w]);
  };
  const depthwiseGrads = () => {
    const x = tf.tensor4d(xs, [2, 9, 9, 4]);
    const w = tf.tensor4d(dws, [3, 3, 4, 2]);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'valid'))),
    );
    return g([x, w]);
  };

  it('conv2d input and filter gradients match the cpu backend', async () => {
    if (main !== 'wasm') return expect(main).not.toBe('wasm');
    const wasm = await on('wasm', convGrads);
    const cpu = await on('cpu', convGrads);
    expect(wasm[1]?.length).toBe(3 * 3 * 4 * 5);
    for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i] as Float32Array, cpu[i] as Float32Array)).toBeLessThan(1e-4);
  });

  it('pointwise (1×1) conv gradients — the matMul fast path — match the cpu backend', async () => {
    if (main !== 'wasm') return expect(main).not.toBe('wasm');
    const wasm = await on('wasm', pointwiseGrads);
    const cpu = await on('cpu', pointwiseGrads);
    expect(wasm[1]?.length).toBe(4 * 5);
    for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i] as Float32Array, cpu[i] as Float32Array)).toBeLessThan(1e-4);
  });

  it('depthwise conv input and filter gradients match the cpu backend', async () => {
    if (main !== 'wasm') return expect(main).not.toBe('wasm');
    const wasm = await on('wasm', depthwiseGrads);
    const cpu = await on('cpu', depthwiseGrads);
    for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i] as Float32Array, cpu[i] as Float32Array)).toBeLessThan(1e-4);
  });

  it('strided, padded depthwise gradients (MobileNetV2 downsampling blocks) match the cpu backend', async () => {
    if (main !== 'wasm') return expect(main).not.toBe('wasm');
    const strided = () => {
      const x = tf.tensor4d(xs, [2, 9, 9, 4]);
      const w = tf.tensor4d(dws.slice(0, 3 * 3 * 4), [3, 3, 4, 1]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
      );
      return g([x, w]);
    };
    const wasm = await on('wasm', strided);
    const cpu = await on('cpu', strided);
    for (let i = 0; i < cpu.length; i++) expect(maxRelDiff(wasm[i] as Float32Array, cpu[i] as Float32Array)).toBeLessThan(1e-4);
  });

  it('the bridge does not leak tensors or wasm memory handles', async () => {
    if (main !== 'wasm') return expect(main).not.toBe('wasm');
    await on('wasm', convGrads);
    const before = tf.memory().numTensors;
    const dataIdsBefore = tf.engine().backend.numDataIds();
    await on('wasm', convGrads);
    await on('wasm', pointwiseGrads);
    await on('wasm', depthwiseGrads);
    await tf.setBackend('wasm');
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIdsBefore);
  });
});
