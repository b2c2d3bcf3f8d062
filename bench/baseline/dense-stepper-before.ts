import * as tf from '@tensorflow/tfjs';
import type { OptimizerName, Stepper } from '../../packages/engine/src/model/stepper.ts';

interface DenseParams {
  /** Dropout rate applied to this layer's input. */
  rate: number;
  inSize: number;
  outSize: number;
  relu: boolean;
  w: Float32Array;
  b: Float32Array;
  /** Optimizer state: first and second moments (Adam) or velocity (momentum, in m). */
  mw: Float32Array;
  vw: Float32Array;
  mb: Float32Array;
  vb: Float32Array;
  layer: tf.layers.Layer;
}

/** dropout → dense(relu) → dropout → dense(softmax), as buildHead makes it, read from the layers. */
function readHead(head: tf.LayersModel): DenseParams[] {
  const out: DenseParams[] = [];
  let rate = 0;
  for (const layer of head.layers) {
    const cls = layer.getClassName();
    if (cls === 'Dropout') rate = (layer.getConfig().rate as number) ?? 0;
    else if (cls === 'Dense') {
      const [w, b] = layer.getWeights();
      if (!w || !b) throw new Error(`head layer ${layer.name} must have a kernel and a bias`);
      const act = layer.getConfig().activation as string;
      const [inSize, outSize] = w.shape as [number, number];
      out.push({
        rate,
        inSize,
        outSize,
        relu: act === 'relu',
        w: w.dataSync() as Float32Array,
        b: b.dataSync() as Float32Array,
        mw: new Float32Array(inSize * outSize),
        vw: new Float32Array(inSize * outSize),
        mb: new Float32Array(outSize),
        vb: new Float32Array(outSize),
        layer,
      });
      rate = 0;
    } else if (cls !== 'InputLayer') throw new Error(`dense fast path: unexpected head layer ${layer.name} (${cls})`);
  }
  if (!out.length || out[out.length - 1]?.relu) throw new Error('dense fast path: the head must end in a softmax dense layer');
  return out.map((p) => ({ ...p, w: Float32Array.from(p.w), b: Float32Array.from(p.b) }));
}

/**
 * Trains a dense head on pooled feature vectors with hand-written backprop: matrix products run on
 * the TF.js backend (explicit transposes — wasm's transposed matMul is several times slower),
 * while the batch gather, dropout masks, softmax-loss gradient and the optimizer update run on
 * JS typed arrays (one loop instead of a dozen small kernels). Several times faster than autodiff
 * + tf.train.adam on wasm for heads of this size, and deterministic for a given seed.
 */
export class DenseStepperBefore implements Stepper {
  private readonly layers: DenseParams[];
  private t = 0;
  private readonly optimizer: OptimizerName;

  constructor(
    private readonly head: tf.LayersModel,
    optimizer: OptimizerName,
    private readonly numClasses: number,
  ) {
    this.layers = readHead(head);
    this.optimizer = optimizer;
    if (this.layers[this.layers.length - 1]?.outSize !== numClasses) throw new Error('head output size differs from the number of classes');
  }

  resetOptimizer(): void {
    this.t = 0;
    for (const p of this.layers) {
      p.mw.fill(0);
      p.vw.fill(0);
      p.mb.fill(0);
      p.vb.fill(0);
    }
  }

  /** Reused input buffer for the first layer's dropout (no per-step allocation). */
  private inputBuffer = new Float32Array(0);

  /** Forward on the backend; returns probabilities and what backprop needs (per-layer inputs, outputs, kernels, masks). */
  private forward(x: Float32Array, rows: number, rand: (() => number) | null) {
    // Masks live outside the tidy: tidy walks its return value, and walking typed arrays is slow.
    const masks: (Float32Array | null)[] = [];
    const result = tf.tidy(() => {
      const inputs: tf.Tensor2D[] = [];
      const outs: tf.Tensor2D[] = [];
      const kernels: tf.Tensor2D[] = [];
      this.layers.forEach((p, l) => {
        let a: tf.Tensor2D;
        if (l === 0) {
          // The first layer's mask is applied on the JS side and not kept: backprop needs only the masked input.
          const input = rand && p.rate > 0 ? this.maskedInput(x, p.rate, rand) : x;
          a = tf.tensor2d(input, [rows, p.inSize]);
          masks.push(null);
        } else {
          const mask = rand && p.rate > 0 ? dropoutMask(rows * p.inSize, p.rate, rand) : null;
          a = outs[l - 1] as tf.Tensor2D;
          if (mask) a = tf.mul(a, tf.tensor2d(mask, [rows, p.inSize]));
          masks.push(mask);
        }
        inputs.push(a);
        const kernel = tf.tensor2d(p.w, [p.inSize, p.outSize]);
        kernels.push(kernel);
        const z = tf.add(tf.matMul(a, kernel), tf.tensor1d(p.b)) as tf.Tensor2D;
        outs.push(p.relu ? tf.relu(z) : tf.softmax(z));
      });
      return { probs: outs[outs.length - 1] as tf.Tensor2D, inputs, outs, kernels };
    });
    return { ...result, masks };
  }

  private maskedInput(x: Float32Array, rate: number, rand: () => number): Float32Array {
    if (this.inputBuffer.length < x.length) this.inputBuffer = new Float32Array(x.length);
    const out = this.inputBuffer.subarray(0, x.length);
    const keep = 1 / (1 - rate);
    const threshold = rate * 4294967296;
    let s = (Math.floor(rand() * 4294967296) | 1) >>> 0;
    for (let i = 0; i < x.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = s >>> 0 >= threshold ? (x[i] as number) * keep : 0;
    }
    return out;
  }

  step(x: Float32Array, y: Int32Array, w: Float32Array, lr: number, rand: () => number, _phase?: string): { loss: number; hits: number } {
    const rows = y.length;
    const k = this.numClasses;
    const { probs, inputs, outs, kernels, masks } = this.forward(x, rows, rand);
    const p = probs.dataSync() as Float32Array;
    // softmax + weighted cross-entropy (mean over the batch): dL/dz = w_i (p - onehot) / B
    const dz = new Float32Array(rows * k);
    let loss = 0;
    let hits = 0;
    for (let i = 0; i < rows; i++) {
      const c = y[i] as number;
      const wi = w[i] as number;
      let arg = 0;
      for (let j = 0; j < k; j++) {
        const pj = p[i * k + j] as number;
        if (pj > (p[i * k + arg] as number)) arg = j;
        dz[i * k + j] = (wi * (pj - (j === c ? 1 : 0))) / rows;
      }
      if (arg === c) hits++;
      loss -= wi * Math.log(Math.max(1e-7, p[i * k + c] as number));
    }
    const grads = tf.tidy(() => {
      const out: { dw: tf.Tensor; db: tf.Tensor }[] = [];
      let d: tf.Tensor2D = tf.tensor2d(dz, [rows, k]);
      for (let l = this.layers.length - 1; l >= 0; l--) {
        const pl = this.layers[l] as DenseParams;
        out[l] = { dw: tf.matMul(tf.transpose(inputs[l] as tf.Tensor2D), d), db: tf.sum(d, 0) };
        if (l === 0) break;
        let da = tf.matMul(d, tf.transpose(kernels[l] as tf.Tensor2D));
        const m = masks[l];
        if (m) da = tf.mul(da, tf.tensor2d(m, [rows, pl.inSize]));
        if ((this.layers[l - 1] as DenseParams).relu) da = tf.mul(da, tf.step(outs[l - 1] as tf.Tensor2D));
        d = da as tf.Tensor2D;
      }
      return out;
    });
    this.t++;
    // Read the gradients before updating: the kernels were uploaded from these very arrays.
    grads.forEach((g, l) => {
      const pl = this.layers[l] as DenseParams;
      this.update(pl.w, pl.mw, pl.vw, g.dw.dataSync() as Float32Array, lr);
      this.update(pl.b, pl.mb, pl.vb, g.db.dataSync() as Float32Array, lr);
    });
    tf.dispose([...inputs, ...outs, ...kernels, ...grads.flatMap((g) => [g.dw, g.db])]);
    return { loss: loss / rows, hits };
  }

  /** Adam (tf.train.adam defaults: β1 0.9, β2 0.999, ε 1e-7) or SGD with momentum 0.9. */
  private update(param: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number): void {
    if (this.optimizer === 'adam') {
      const b1 = 0.9;
      const b2 = 0.999;
      const c1 = 1 - b1 ** this.t;
      const sc2 = Math.sqrt(1 - b2 ** this.t);
      // Bias corrections folded into the step size and epsilon (same update as tf.train.adam).
      const step = (lr * sc2) / c1;
      const eps = 1e-7 * sc2;
      for (let i = 0; i < param.length; i++) {
        const gi = g[i] as number;
        const mi = b1 * (m[i] as number) + (1 - b1) * gi;
        const vi = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        param[i] = (param[i] as number) - (step * mi) / (Math.sqrt(vi) + eps);
      }
    } else {
      for (let i = 0; i < param.length; i++) {
        const mi = 0.9 * (m[i] as number) + (g[i] as number);
        m[i] = mi;
        param[i] = (param[i] as number) - lr * mi;
      }
    }
  }

  predict(x: Float32Array, rows: number): Float32Array {
    const { probs, inputs, outs, kernels } = this.forward(x, rows, null);
    const p = Float32Array.from(probs.dataSync() as Float32Array);
    tf.dispose([...inputs, ...outs, ...kernels]);
    return p;
  }

  snapshot(): Float32Array[] {
    return this.layers.flatMap((p) => [Float32Array.from(p.w), Float32Array.from(p.b)]);
  }

  restore(s: Float32Array[]): void {
    this.layers.forEach((p, l) => {
      p.w.set(s[2 * l] as Float32Array);
      p.b.set(s[2 * l + 1] as Float32Array);
    });
  }

  /** Writes the trained weights into the head's layers. */
  finish(): void {
    for (const p of this.layers) {
      const w = tf.tensor2d(p.w, [p.inSize, p.outSize]);
      const b = tf.tensor1d(p.b);
      p.layer.setWeights([w, b]);
      tf.dispose([w, b]);
    }
    void this.head;
  }

  dispose(): void {}
}

/** Inverted-dropout mask from a xorshift stream seeded by `rand` (one call per mask, not per element). */
function dropoutMask(n: number, rate: number, rand: () => number): Float32Array {
  const keep = 1 / (1 - rate);
  const threshold = rate * 4294967296;
  let s = (Math.floor(rand() * 4294967296) | 1) >>> 0;
  const m = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    m[i] = s >>> 0 >= threshold ? keep : 0;
  }
  return m;
}

