/**
 * A small exported model folder (model.json + weights.bin + defectflow.json, the engine's export layout) built
 * with TensorFlow.js directly: two convolutions, pooling and a softmax over two labels. No backbone download,
 * no training: enough for the engine's loadExportedModel + predictImages to do real work on real images.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

export async function writeTinyModel(dir: string, opts: { inputSize?: number; filters?: number } = {}): Promise<string> {
  const size = opts.inputSize ?? 64;
  const filters = opts.filters ?? 16;
  await tf.setBackend('cpu');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters, kernelSize: 3, activation: 'relu', name: 'conv_a', kernelInitializer: 'glorotUniform' }),
      tf.layers.conv2d({ filters: filters * 2, kernelSize: 3, activation: 'relu', name: 'conv_b' }),
      tf.layers.globalAveragePooling2d({ name: 'pool' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'head' }),
    ],
  });
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(weights));
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const meta = {
    format: 'defectflow-classifier',
    version: 1,
    name: 'tiny',
    labels: ['good', 'scratch'],
    inputSize: size,
    channels: 3,
    preprocessing: { name: 'none', inGraph: true, input: 'RGB float 0..255, [1,h,w,3]' },
    backbone: { source: 'test', cutAt: 'conv_b', boundary: 'conv_b', description: 'test model' },
    metrics: null,
    training: { epochs: 0, bestEpoch: 0, stoppedEarly: false },
  };
  writeFileSync(join(dir, 'defectflow.json'), JSON.stringify(meta));
  return dir;
}
