import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { createOnnxFeatureExtractor } from '../../src/onnx/index.ts';
import { pseudoImages, randomizeWeights } from './helpers.ts';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('ONNX Runtime worker: dispose while a batch runs', () => {
  it('lets the batch in flight finish (stopping the thread inside a native run aborts the process)', async () => {
    // ≈ 8 GFLOP a batch: still running in the worker when dispose() is called right after run().
    const input = tf.input({ shape: [96, 96, 3] });
    let y = input as tf.SymbolicTensor;
    for (let i = 0; i < 6; i++) y = tf.layers.conv2d({ filters: 32, kernelSize: 3, padding: 'same', activation: 'relu', name: `c${i}` }).apply(y) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    randomizeWeights(model, 5);
    const fx = await createOnnxFeatureExtractor(model, { threads: 1, pool: 'avg' });
    const x = pseudoImages(8, 96);
    const expected = await fx.run(x, 8);
    const running = fx.run(x, 8);
    const disposed = fx.dispose();
    expect(Array.from(await running)).toEqual(Array.from(expected));
    await disposed;
    await expect(fx.run(x, 8)).rejects.toThrowError(/after dispose/);
    model.dispose();
  });
});
