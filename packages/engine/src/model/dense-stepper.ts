import * as tf from '@tensorflow/tfjs';
import type { OptimizerName, Stepper } from './stepper.ts';

export interface DenseParams {
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
export function readHead(head: tf.LayersModel): DenseParams[] {
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

/** Below this many multiply-adds a product runs in a JS loop: a backend call costs more than the work. */
const JS_MATMUL_MAX = 64 * 1024;

/** out[m×n] = a[m×k] · b[k×n], row-major, in JS (small products). */
function matmulJs(a: Float32Array, m: number, k: number, b: Float32Array, n: number, out: Float32Array): void {
  out.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    const o = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p] as number;
      if (av === 0) continue; // dropout and ReLU zeros are common
      const bo = p * n;
      for (let j = 0; j < n; j++) out[o + j] = (out[o + j] as number) + av * (b[bo + j] as number);
    }
  }
}

/** out[k×n] = a[m×k]ᵀ · d[m×n] in JS. */
function matmulTransAJs(a: Float32Array, m: number, k: number, d: Float32Array, n: number, out: Float32Array): void {
  out.fill(0, 0, k * n);
  for (let i = 0; i < m; i++) {
    const dOff = i * n;
    for (let p = 0; p < k; p++) {
      const av = a[i * k + p] as number;
      if (av === 0) continue;
      const o = p * n;
      for (let j = 0; j < n; j++) out[o + j] = (out[o + j] as number) + av * (d[dOff + j] as number);
    }
  }
}

/** One dense layer's parameters, optimizer state and per-step scratch (reused: no per-step allocation). */
interface Layer extends DenseParams {
  /** Gradients of w and b. */
  gw: Float32Array;
  gb: Float32Array;
  /** Scratch sized for `cap` rows: this layer's (masked) input, its output, the gradient at its output. */
  cap: number;
  input: Float32Array;
  out: Float32Array;
  dOut: Float32Array;
  /** Dropout mask on the input (layers after the first; the first keeps only the masked input). */
  mask: Float32Array | null;
  maskBuffer: Float32Array;
}

/**
 * Trains a dense head on pooled feature vectors with hand-written backprop. Everything except the
 * large matrix products runs in tight loops over preallocated typed arrays (bias, ReLU, softmax,
 * dropout, the loss gradient, Adam fused into one pass per parameter array); products big enough to
 * pay for a backend call (the first layer's, 576×128 in the default head) run on the TF.js backend
 * as single kernels with an explicit transpose (wasm's transposed matMul is several times slower).
 * Deterministic for a given seed; the same updates as autodiff + tf.train.adam / momentum SGD.
 */
export class DenseStepper implements Stepper {
  private readonly layers: Layer[];
  private t = 0;
  private readonly optimizer: OptimizerName;

  constructor(
    private readonly head: tf.LayersModel,
    optimizer: OptimizerName,
    private readonly numClasses: number,
  ) {
    this.layers = readHead(head).map((p) => ({
      ...p,
      gw: new Float32Array(p.inSize * p.outSize),
      gb: new Float32Array(p.outSize),
      cap: 0,
      input: new Float32Array(0),
      out: new Float32Array(0),
      dOut: new Float32Array(0),
      mask: null,
      maskBuffer: new Float32Array(0),
    }));
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

  private ensureRows(rows: number): void {
    for (const p of this.layers) {
      if (p.cap >= rows) continue;
      p.cap = rows;
      p.input = new Float32Array(rows * p.inSize);
      p.out = new Float32Array(rows * p.outSize);
      p.dOut = new Float32Array(rows * p.outSize);
      p.mask = null;
      p.maskBuffer = new Float32Array(rows * p.inSize);
    }
  }

  /** out = a · w on the backend (large) or in JS (small). */
  private product(a: Float32Array, rows: number, p: Layer, out: Float32Array): void {
    if (rows * p.inSize * p.outSize <= JS_MATMUL_MAX) {
      matmulJs(a, rows, p.inSize, p.w, p.outSize, out);
      return;
    }
    const y = tf.tidy(() => tf.matMul(tf.tensor2d(a.subarray(0, rows * p.inSize), [rows, p.inSize]), tf.tensor2d(p.w, [p.inSize, p.outSize])));
    out.set(y.dataSync() as Float32Array);
    y.dispose();
  }

  /** gw = aᵀ · d on the backend (large) or in JS (small). */
  private weightGradient(a: Float32Array, rows: number, p: Layer, d: Float32Array): void {
    if (rows * p.inSize * p.outSize <= JS_MATMUL_MAX) {
      matmulTransAJs(a, rows, p.inSize, d, p.outSize, p.gw);
      return;
    }
    const g = tf.tidy(() =>
      tf.matMul(tf.transpose(tf.tensor2d(a.subarray(0, rows * p.inSize), [rows, p.inSize])), tf.tensor2d(d.subarray(0, rows * p.outSize), [rows, p.outSize])),
    );
    p.gw.set(g.dataSync() as Float32Array);
    g.dispose();
  }

  /** Forward pass into the layers' scratch; returns the probabilities (rows × classes, a reused buffer). */
  private forward(x: Float32Array, rows: number, rand: (() => number) | null): Float32Array {
    this.ensureRows(rows);
    let prev: Float32Array = x;
    this.layers.forEach((p, l) => {
      const n = rows * p.inSize;
      const input = p.input;
      if (rand && p.rate > 0) {
        // The first layer keeps only the masked input (all backprop needs); later layers keep the mask too.
        if (l === 0) fillMasked(prev, n, p.rate, rand, input, null);
        else {
          p.mask = p.maskBuffer;
          fillMasked(prev, n, p.rate, rand, input, p.mask);
        }
      } else {
        input.set(prev.subarray(0, n));
        p.mask = null;
      }
      const out = p.out;
      this.product(input, rows, p, out);
      const m = p.outSize;
      for (let i = 0; i < rows; i++) {
        const o = i * m;
        if (p.relu) {
          for (let j = 0; j < m; j++) {
            const z = (out[o + j] as number) + (p.b[j] as number);
            out[o + j] = z > 0 ? z : 0;
          }
        } else {
          let max = -Infinity;
          for (let j = 0; j < m; j++) {
            const z = (out[o + j] as number) + (p.b[j] as number);
            out[o + j] = z;
            if (z > max) max = z;
          }
          let sum = 0;
          for (let j = 0; j < m; j++) {
            const e = Math.exp((out[o + j] as number) - max);
            out[o + j] = e;
            sum += e;
          }
          for (let j = 0; j < m; j++) out[o + j] = (out[o + j] as number) / sum;
        }
      }
      prev = out;
    });
    return prev;
  }

  step(x: Float32Array, y: Int32Array, w: Float32Array, lr: number, rand: () => number, _phase?: string): { loss: number; hits: number } {
    const rows = y.length;
    const k = this.numClasses;
    const p = this.forward(x, rows, rand);
    const last = this.layers[this.layers.length - 1] as Layer;
    // softmax + weighted cross-entropy (mean over the batch): dL/dz = w_i (p - onehot) / B
    const dz = last.dOut;
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
    this.t++;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const pl = this.layers[l] as Layer;
      const d = pl.dOut;
      this.weightGradient(pl.input, rows, pl, d);
      const gb = pl.gb;
      gb.fill(0);
      for (let i = 0; i < rows; i++) for (let j = 0; j < pl.outSize; j++) gb[j] = (gb[j] as number) + (d[i * pl.outSize + j] as number);
      if (l > 0) {
        // Gradient at the previous layer's output, through this layer's kernel (before its update),
        // this layer's input mask and the previous ReLU.
        const below = this.layers[l - 1] as Layer;
        const da = below.dOut;
        const inSize = pl.inSize;
        const outSize = pl.outSize;
        const mask = pl.mask;
        for (let i = 0; i < rows; i++) {
          for (let q = 0; q < inSize; q++) {
            const at = i * inSize + q;
            if ((below.relu && (below.out[at] as number) <= 0) || (mask && mask[at] === 0)) {
              da[at] = 0;
              continue;
            }
            let s = 0;
            const wo = q * outSize;
            const dOff = i * outSize;
            for (let j = 0; j < outSize; j++) s += (d[dOff + j] as number) * (pl.w[wo + j] as number);
            da[at] = mask ? s * (mask[at] as number) : s;
          }
        }
      }
      this.update(pl.w, pl.mw, pl.vw, pl.gw, lr);
      this.update(pl.b, pl.mb, pl.vb, pl.gb, lr);
    }
    return { loss: loss / rows, hits };
  }

  /** Adam (tf.train.adam defaults: β1 0.9, β2 0.999, ε 1e-7) or SGD with momentum 0.9, one fused pass. */
  private update(param: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, lr: number): void {
    const len = param.length;
    if (this.optimizer === 'adam') {
      const c1 = 1 - 0.9 ** this.t;
      const sc2 = Math.sqrt(1 - 0.999 ** this.t);
      // Bias corrections folded into the step size and epsilon (same update as tf.train.adam).
      const step = (lr * sc2) / c1;
      const eps = 1e-7 * sc2;
      for (let i = 0; i < len; i++) {
        const gi = g[i] as number;
        const mi = 0.9 * (m[i] as number) + 0.1 * gi;
        const vi = 0.999 * (v[i] as number) + 0.001 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        param[i] = (param[i] as number) - (step * mi) / (Math.sqrt(vi) + eps);
      }
    } else {
      for (let i = 0; i < len; i++) {
        const mi = 0.9 * (m[i] as number) + (g[i] as number);
        m[i] = mi;
        param[i] = (param[i] as number) - lr * mi;
      }
    }
  }

  predict(x: Float32Array, rows: number): Float32Array {
    const k = this.numClasses;
    const out = new Float32Array(rows * k);
    // In chunks of the training batch's scratch size or more, one backend product per chunk.
    const chunk = Math.max(256, this.layers[0]?.cap ?? 0);
    const inSize = this.layers[0]?.inSize ?? 0;
    for (let s = 0; s < rows; s += chunk) {
      const e = Math.min(rows, s + chunk);
      out.set(this.forward(x.subarray(s * inSize, e * inSize), e - s, null).subarray(0, (e - s) * k), s * k);
    }
    return out;
  }

  snapshot(): Float32Array[] {
    return snapshotDense(this.layers);
  }

  restore(s: Float32Array[]): void {
    restoreDense(this.layers, s);
  }

  finish(): void {
    writeDenseWeights(this.layers);
    void this.head;
  }

  dispose(): void {}
}

type DenseWeights = Pick<DenseParams, 'w' | 'b' | 'inSize' | 'outSize' | 'layer'>;

/** Copies of every layer's kernel and bias (best-epoch snapshots), shared by both dense steppers. */
export function snapshotDense(layers: DenseWeights[]): Float32Array[] {
  return layers.flatMap((p) => [Float32Array.from(p.w), Float32Array.from(p.b)]);
}

export function restoreDense(layers: DenseWeights[], s: Float32Array[]): void {
  layers.forEach((p, l) => {
    p.w.set(s[2 * l] as Float32Array);
    p.b.set(s[2 * l + 1] as Float32Array);
  });
}

/** Writes the trained weights into the head's layers (copies: a tensor may keep the array it was made from). */
export function writeDenseWeights(layers: DenseWeights[]): void {
  for (const p of layers) {
    const w = tf.tensor2d(Float32Array.from(p.w), [p.inSize, p.outSize]);
    const b = tf.tensor1d(Float32Array.from(p.b));
    p.layer.setWeights([w, b]);
    tf.dispose([w, b]);
  }
}

/**
 * Inverted dropout of `x[0..n)` into `out` with a xorshift stream seeded by one `rand()` call
 * (the stream the previous tensor-based stepper used); also writes the mask when given. With no
 * `x`/`out` it only draws the mask (the same stream, so both steppers drop the same units).
 */
export function fillMasked(x: Float32Array | null, n: number, rate: number, rand: () => number, out: Float32Array | null, mask: Float32Array | null): void {
  const keep = 1 / (1 - rate);
  const threshold = rate * 4294967296;
  let s = (Math.floor(rand() * 4294967296) | 1) >>> 0;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    const kept = s >>> 0 >= threshold;
    if (out && x) out[i] = kept ? (x[i] as number) * keep : 0;
    if (mask) mask[i] = kept ? keep : 0;
  }
}
