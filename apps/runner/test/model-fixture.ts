/**
 * A small exported model folder (model.json + weights.bin + defectflow.json, the engine's export layout) built
 * with TensorFlow.js directly: two convolutions, pooling and a softmax over two labels. No backbone download,
 * no training: enough for the engine's loadExportedModel + predictImages to do real work on real images.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** `uniform`: a head of zeros, so every image gets p = 0.5 for both labels (a known, low confidence). */
export async function writeTinyModel(dir: string, opts: { inputSize?: number; filters?: number; uniform?: boolean } = {}): Promise<string> {
  const size = opts.inputSize ?? 64;
  const filters = opts.filters ?? 16;
  await tf.setBackend('cpu');
  const model = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [size, size, 3], filters, kernelSize: 3, activation: 'relu', name: 'conv_a', kernelInitializer: 'glorotUniform' }),
      tf.layers.conv2d({ filters: filters * 2, kernelSize: 3, activation: 'relu', name: 'conv_b' }),
      tf.layers.globalAveragePooling2d({ name: 'pool' }),
      tf.layers.dense({ units: 2, activation: 'softmax', name: 'head', ...(opts.uniform ? { kernelInitializer: 'zeros' } : {}) }),
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

/**
 * An exported model with the spatial head's layer names (head_conv → head_bn → head_relu → head_pool_max →
 * head_output) and weights set by hand, so its class activation map is known: a 4×4 average pool turns a 32×32
 * image into an 8×8 map, channel 0 of head_conv is the brightness, and class "scratch" is driven by channel 0 alone.
 * A bright patch in a dark image is therefore predicted "scratch", and its map is bright exactly under the patch.
 */
export async function writeSpatialModel(dir: string): Promise<string> {
  await tf.setBackend('cpu');
  const input = tf.input({ shape: [32, 32, 3], name: 'image' });
  let x = tf.layers.averagePooling2d({ poolSize: 4, name: 'feat_pool' }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 2, kernelSize: 1, useBias: false, name: 'head_conv' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'head_bn', epsilon: 1e-6 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'head_relu' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalMaxPooling2d({ name: 'head_pool_max' }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 2, activation: 'softmax', name: 'head_output' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const brightness = 1 / (3 * 255);
  model.getLayer('head_conv').setWeights([tf.tensor4d([brightness, -brightness, brightness, -brightness, brightness, -brightness], [1, 1, 3, 2])]);
  model.getLayer('head_bn').setWeights([tf.ones([2]), tf.zeros([2]), tf.zeros([2]), tf.ones([2])]);
  // labels [good, scratch]: channel 0 (bright) → scratch; channel 1 (never active on real pixels) → good.
  model.getLayer('head_output').setWeights([tf.tensor2d([-8, 8, 1, -1], [2, 2]), tf.tensor1d([2, -2])]);
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      writeFileSync(join(dir, 'weights.bin'), Buffer.from(artifacts.weightData as ArrayBuffer));
      writeFileSync(
        join(dir, 'model.json'),
        JSON.stringify({ modelTopology: artifacts.modelTopology, format: 'layers-model', weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }] }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  const meta = {
    format: 'defectflow-classifier',
    version: 1,
    name: 'spatial',
    labels: ['good', 'scratch'],
    inputSize: 32,
    channels: 3,
    preprocessing: { name: 'none', inGraph: true, input: 'RGB float 0..255, [1,h,w,3]' },
    backbone: { source: 'test', cutAt: 'feat_pool', boundary: 'feat_pool', description: 'test model' },
    metrics: null,
    training: { epochs: 0, bestEpoch: 0, stoppedEarly: false },
  };
  writeFileSync(join(dir, 'defectflow.json'), JSON.stringify(meta));
  return dir;
}
