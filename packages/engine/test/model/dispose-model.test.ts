import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { disposeModel } from '../../src/model/dispose.ts';
import { cachedFeatureExtractor } from '../../src/onnx/index.ts';

function smallModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const y = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'c' }).apply(input) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: y });
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('disposeModel', () => {
  it('frees the weights and stops the ONNX Runtime session memoised for the model', async () => {
    const before = tf.memory().numTensors;
    const model = smallModel();
    expect(tf.memory().numTensors).toBe(before + 2); // kernel + bias
    const fx = await cachedFeatureExtractor(model, { threads: 1 });
    // onnxruntime-node is installed here: the extractor is a real ORT session (in a worker thread).
    expect(fx.engine).toBe('onnxruntime');
    await expect(fx.run(new Float32Array(8 * 8 * 3), 1)).resolves.toHaveLength(8 * 8 * 4);
    await disposeModel(model);
    expect(tf.memory().numTensors).toBe(before);
    await expect(fx.run(new Float32Array(8 * 8 * 3), 1)).rejects.toThrow(/after dispose/);
  });

  it('tolerates a model whose layers a disposed model shared', async () => {
    const model = smallModel();
    const view = tf.model({ inputs: model.inputs, outputs: model.getLayer('c').output as tf.SymbolicTensor });
    await disposeModel(model);
    await expect(disposeModel(view)).resolves.toBeUndefined();
  });
});
