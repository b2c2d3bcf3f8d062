import * as tf from '@tensorflow/tfjs';
import { poolFeatureMap, type Pooling } from './features.ts';

export interface LabeledArray {
  /** n × prod(shape) floats, row-major. */
  x: Float32Array;
  /** Shape of one item: [d] pooled vectors or [h,w,c] boundary activations. */
  shape: number[];
  /** Class index per item. */
  y: ArrayLike<number>;
}

export type OptimizerName = 'adam' | 'sgd';

/** One way of doing a training step; the loop in train.ts is shared. */
export interface Stepper {
  /** Fresh optimizer state (a new phase). */
  resetOptimizer(): void;
  step(
    x: Float32Array,
    y: Int32Array,
    w: Float32Array,
    lr: number,
    rand: () => number,
    phase: 'train' | 'head' | 'finetune',
  ): { loss: number; hits: number } | Promise<{ loss: number; hits: number }>;
  /** Class probabilities, rows × classes. */
  predict(x: Float32Array, rows: number): Float32Array | Promise<Float32Array>;
  snapshot(): unknown;
  restore(snapshot: unknown): void;
  /** Leaves the trained weights in the models. */
  finish(): void;
  dispose(): void;
}

/**
 * The head's forward pass written out from its layers, so dropout can run in training mode
 * (LayersModel.apply does not pass `training` into a functional model's layers).
 */
export function headForward(head: tf.LayersModel, x: tf.Tensor, training: boolean, dropoutSeed?: number): tf.Tensor2D {
  let y = x;
  let pooled: Pooling | null = null;
  for (const layer of head.layers) {
    if (layer.name === 'head_pool_avg') pooled = pooled === 'max' ? 'avgmax' : 'avg';
    else if (layer.name === 'head_pool_max') pooled = pooled === 'avg' ? 'avgmax' : 'max';
  }
  let k = 0;
  for (const layer of head.layers) {
    const cls = layer.getClassName();
    if (cls === 'Conv2D' || cls === 'BatchNormalization' || cls === 'Activation') {
      // The spatial head's layers on the map, before pooling: batch norm needs `training`.
      y = layer.apply(y, { training }) as tf.Tensor;
    } else if (layer.name.startsWith('head_pool_')) {
      if (pooled && y.rank === 4) y = poolFeatureMap(y as tf.Tensor4D, pooled);
    } else if (cls === 'Dropout') {
      const rate = (layer.getConfig().rate as number) ?? 0;
      if (training && rate > 0) y = tf.dropout(y, rate, undefined, dropoutSeed === undefined ? undefined : dropoutSeed + k++);
    } else if (cls === 'Dense') {
      const [kernel, bias] = layer.weights.map((w) => w.read());
      const activation = layer.getConfig().activation as string;
      y = tf.matMul(y as tf.Tensor2D, kernel as tf.Tensor2D);
      if (bias) y = tf.add(y, bias);
      if (activation === 'relu') y = tf.relu(y);
      else if (activation === 'softmax') y = tf.softmax(y);
      else if (activation !== 'linear') throw new Error(`head: unsupported activation ${activation}`);
    }
  }
  return y as tf.Tensor2D;
}

function variablesOf(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => w.read() as tf.Variable);
}

function makeOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
  return name === 'sgd' ? tf.train.momentum(lr, 0.9) : tf.train.adam(lr);
}

function setLearningRate(opt: tf.Optimizer, lr: number): void {
  // SGD/momentum keep lr in a scalar tensor (setLearningRate); Adam reads the plain field each step.
  const o = opt as unknown as { setLearningRate?: (lr: number) => void; learningRate: number };
  if (opt.getClassName() !== 'Adam' && typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * Autodiff step for trainable backbone blocks + head. The blocks run with BatchNorm in inference
 * mode (the usual fine-tuning practice: small batches would wreck the moving statistics).
 */
export class AutodiffStepper implements Stepper {
  private optimizer: tf.Optimizer | null = null;

  constructor(
    private readonly head: tf.LayersModel,
    private readonly trainable: tf.LayersModel | null,
    private readonly optimizerName: OptimizerName,
    private readonly itemShape: number[],
    private readonly numClasses: number,
  ) {}

  resetOptimizer(): void {
    this.optimizer?.dispose();
    this.optimizer = null;
  }

  private forward(xb: tf.Tensor, training: boolean, seed?: number): tf.Tensor2D {
    const feats = this.trainable ? (this.trainable.apply(xb) as tf.Tensor) : xb;
    return headForward(this.head, feats, training, seed);
  }

  step(x: Float32Array, y: Int32Array, w: Float32Array, lr: number, rand: () => number, phase: 'train' | 'head' | 'finetune') {
    this.optimizer ??= makeOptimizer(this.optimizerName, lr);
    const opt = this.optimizer;
    setLearningRate(opt, lr);
    const varList = [...variablesOf(this.head), ...(this.trainable && phase !== 'head' ? variablesOf(this.trainable) : [])];
    const rows = y.length;
    const seed = Math.floor(rand() * 2 ** 31);
    let hits = 0;
    const loss = tf.tidy(() => {
      const xb = tf.tensor(x, [rows, ...this.itemShape]);
      const yb = tf.oneHot(tf.tensor1d(y, 'int32'), this.numClasses).toFloat() as tf.Tensor2D;
      const wb = tf.tensor1d(w);
      const value = opt.minimize(
        () => {
          const p = this.forward(xb, true, seed);
          hits = tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(p, 1), tf.argMax(yb, 1)), 'float32')).dataSync()[0] as number);
          const ce = tf.neg(tf.sum(tf.mul(yb, tf.log(tf.clipByValue(p, 1e-7, 1))), 1));
          return tf.mean(tf.mul(ce, wb)) as tf.Scalar;
        },
        true,
        varList,
      ) as tf.Scalar;
      return value.dataSync()[0] as number;
    });
    return { loss, hits };
  }

  predict(x: Float32Array, rows: number): Float32Array {
    const per = this.itemShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(rows * this.numClasses);
    const chunk = this.trainable ? 32 : 4096;
    for (let s = 0; s < rows; s += chunk) {
      const e = Math.min(rows, s + chunk);
      const p = tf.tidy(() => this.forward(tf.tensor(x.subarray(s * per, e * per), [e - s, ...this.itemShape]), false).dataSync());
      out.set(p, s * this.numClasses);
    }
    return out;
  }

  snapshot(): tf.Tensor[] {
    return [this.head, this.trainable].flatMap((m) => (m ? m.getWeights().map((t) => tf.keep(t.clone())) : []));
  }

  restore(snapshot: unknown): void {
    const weights = snapshot as tf.Tensor[];
    let i = 0;
    for (const m of [this.head, this.trainable]) {
      if (!m) continue;
      const n = m.getWeights().length;
      m.setWeights(weights.slice(i, i + n));
      i += n;
    }
  }

  disposeSnapshot(snapshot: unknown): void {
    tf.dispose(snapshot as tf.Tensor[]);
  }

  finish(): void {}

  dispose(): void {
    this.resetOptimizer();
  }
}
