import * as tf from '@tensorflow/tfjs';
import type { Pooling } from './features.ts';
import type { FunctionalJson } from './topology.ts';

export type HeadKind = 'dense' | 'spatial';

export interface HeadSpec {
  /**
   * 'dense': pooling first, then dense layers on the pooled vector. 'spatial': a learned local
   * detector on the feature map (1×1 conv → batch norm → ReLU) before pooling, so a defect that
   * covers a few positions is not averaged away.
   */
  kind?: HeadKind;
  /** Filters of the spatial head's 1×1 convolution. */
  filters?: number;
  pooling?: Pooling;
  /** Units of the hidden dense layer; 0 = none (linear classifier on the pooled features). */
  hidden?: number;
  dropout?: number;
}

export interface BuildHeadOptions extends HeadSpec {
  numClasses: number;
  /** [h,w,c] feature map (pooling inside the head) or [d] already-pooled vector. */
  inputShape: number[];
  seed?: number;
  /** Name of the head's input layer (defaults to "head_input"). */
  inputName?: string;
}

/** Length of the pooled vector for a feature map with `channels` channels. */
export function pooledSize(pooling: Pooling, channels: number): number {
  return pooling === 'avgmax' ? channels * 2 : channels;
}

/**
 * dense: pooling → dropout → dense(hidden, relu) → dropout → dense(softmax).
 * spatial: conv 1×1 → batch norm → ReLU → pooling → dropout → dense(softmax).
 * Layer names start with head_.
 */
export function buildHead(options: BuildHeadOptions): tf.LayersModel {
  const { numClasses, inputShape } = options;
  if ((options.kind ?? 'dense') === 'spatial') return buildSpatialHead(options);
  const pooling = options.pooling ?? 'avg';
  const hidden = options.hidden ?? 128;
  const rate = options.dropout ?? 0.2;
  const seed = options.seed ?? 42;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`head needs at least 2 classes, got ${numClasses}`);
  if (inputShape.length !== 1 && inputShape.length !== 3) throw new Error(`head inputShape must be [d] or [h,w,c], got [${inputShape.join(',')}]`);
  const input = tf.input({ shape: inputShape, name: options.inputName ?? 'head_input' });
  let x: tf.SymbolicTensor = input;
  if (inputShape.length === 3) x = globalPool(x, pooling);
  if (rate > 0) x = tf.layers.dropout({ rate, name: 'head_dropout_1', seed }).apply(x) as tf.SymbolicTensor;
  if (hidden > 0) {
    x = tf.layers
      .dense({ units: hidden, activation: 'relu', name: 'head_hidden', kernelInitializer: tf.initializers.heNormal({ seed }) })
      .apply(x) as tf.SymbolicTensor;
    if (rate > 0) x = tf.layers.dropout({ rate, name: 'head_dropout_2', seed: seed + 1 }).apply(x) as tf.SymbolicTensor;
  }
  const out = tf.layers
    .dense({ units: numClasses, activation: 'softmax', name: 'head_output', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'head' });
}

function globalPool(x: tf.SymbolicTensor, pooling: Pooling): tf.SymbolicTensor {
  if (pooling === 'avg') return tf.layers.globalAveragePooling2d({ name: 'head_pool_avg' }).apply(x) as tf.SymbolicTensor;
  if (pooling === 'max') return tf.layers.globalMaxPooling2d({ name: 'head_pool_max' }).apply(x) as tf.SymbolicTensor;
  const a = tf.layers.globalAveragePooling2d({ name: 'head_pool_avg' }).apply(x) as tf.SymbolicTensor;
  const m = tf.layers.globalMaxPooling2d({ name: 'head_pool_max' }).apply(x) as tf.SymbolicTensor;
  return tf.layers.concatenate({ name: 'head_pool_concat', axis: -1 }).apply([a, m]) as tf.SymbolicTensor;
}

/** Batch-norm epsilon of the spatial head (the training graphs read it from the layer). */
export const SPATIAL_BN_EPSILON = 1e-3;

function buildSpatialHead(options: BuildHeadOptions): tf.LayersModel {
  const { numClasses, inputShape } = options;
  const seed = options.seed ?? 42;
  const rate = options.dropout ?? 0.2;
  const filters = options.filters ?? 64;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new Error(`head needs at least 2 classes, got ${numClasses}`);
  if (inputShape.length !== 3) throw new Error(`a spatial head needs an [h,w,c] feature map, got [${inputShape.join(',')}]`);
  const input = tf.input({ shape: inputShape, name: options.inputName ?? 'head_input' });
  let x = tf.layers
    .conv2d({ filters, kernelSize: 1, useBias: false, name: 'head_conv', kernelInitializer: tf.initializers.heNormal({ seed }) })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ name: 'head_bn', epsilon: SPATIAL_BN_EPSILON, momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'relu', name: 'head_relu' }).apply(x) as tf.SymbolicTensor;
  x = globalPool(x, options.pooling ?? 'max');
  if (rate > 0) x = tf.layers.dropout({ rate, name: 'head_dropout_1', seed }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: numClasses, activation: 'softmax', name: 'head_output', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out, name: 'head' });
}

/** True when the head convolves the feature map before pooling (it cannot train on pooled vectors). */
export function isSpatialHead(head: tf.LayersModel): boolean {
  return head.layers.some((l) => l.name === 'head_conv');
}

/** The head's graph as functional JSON (for composing an export model). */
export function modelJson(model: tf.LayersModel): FunctionalJson {
  const json = model.toJSON(null, false) as unknown as { config: FunctionalJson };
  return json.config;
}
