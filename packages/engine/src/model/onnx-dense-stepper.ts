import type * as tf from '@tensorflow/tfjs';
import { buildDenseForward, buildDenseGradients, type DenseLayerShape } from '../onnx/dense-train-graph.ts';
import type { OrtTensor } from '../onnx/runtime.ts';
import { type DenseParams, fillMasked, readHead, restoreDense, snapshotDense, writeDenseWeights } from './dense-stepper.ts';
import { type StepSessions, prepareStepRuntime, scoreBatch, stepSessions, updateParams } from './ort-step.ts';
import type { SimdOptimizer } from './simd-optimizer.ts';
import type { OptimizerName, Stepper } from './stepper.ts';

function sessionsFor(shapes: DenseLayerShape[]): Promise<StepSessions> {
  // One intra-op thread: the products are small (32×576×128), and a second thread's hand-off
  // cost more than it saved here (0.28 vs 0.36 ms a step); it also leaves a core to the server.
  return stepSessions(`dense:${JSON.stringify(shapes)}`, 1, () => ({ gradients: buildDenseGradients(shapes), forward: buildDenseForward(shapes) }));
}

interface Layer extends Omit<DenseParams, 'w' | 'b' | 'mw' | 'vw' | 'mb' | 'vb'> {
  /** Parameters, optimizer state and gradients: views into the SIMD optimizer's memory. */
  w: Float32Array;
  b: Float32Array;
  mw: Float32Array;
  vw: Float32Array;
  mb: Float32Array;
  vb: Float32Array;
  gw: Float32Array;
  gb: Float32Array;
  /** Dropout mask on this layer's input (layers after the first). */
  mask: Float32Array;
}

/**
 * The dense fast path with its arithmetic split by what each engine does best: forward pass and
 * gradients as one ONNX Runtime session run (native GEMMs), the Adam/momentum update as a wasm
 * SIMD loop over parameters kept in wasm memory, dropout masks and the loss in JS. Same updates as
 * DenseStepper (same dropout stream, same formulas; float32 arithmetic throughout).
 */
export class OnnxDenseStepper implements Stepper {
  private t = 0;
  private cap = 0;
  private xIn = new Float32Array(0);
  private target = new Float32Array(0);
  private rowWeight = new Float32Array(0);

  private constructor(
    private readonly sessions: StepSessions,
    private readonly layers: Layer[],
    private readonly optimizer: OptimizerName,
    private readonly simd: SimdOptimizer,
    private readonly numClasses: number,
  ) {}

  /**
   * A stepper for this head, or null (with the reason) when ONNX Runtime or wasm SIMD cannot be
   * used here: the caller then trains on DenseStepper.
   */
  static async create(head: tf.LayersModel, optimizer: OptimizerName, numClasses: number): Promise<{ stepper: OnnxDenseStepper } | { reason: string }> {
    const params = readHead(head);
    if (params[params.length - 1]?.outSize !== numClasses) throw new Error('head output size differs from the number of classes');
    const shapes = params.map((p, l) => ({ inSize: p.inSize, outSize: p.outSize, relu: p.relu, dropout: l > 0 && p.rate > 0 }));
    const sizes = params.flatMap((p) => {
      const nw = p.inSize * p.outSize;
      return [nw, p.outSize, nw, nw, p.outSize, p.outSize, nw, p.outSize];
    });
    const prepared = await prepareStepRuntime(sizes, () => sessionsFor(shapes));
    if ('reason' in prepared) return prepared;
    const { simd, sessions } = prepared;
    const views = simd.views;
    const layers = params.map((p, l): Layer => {
      const [w, b, mw, vw, mb, vb, gw, gb] = views.slice(8 * l, 8 * l + 8) as Float32Array[] as [
        Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array, Float32Array,
      ];
      w.set(p.w);
      b.set(p.b);
      return { ...p, w, b, mw, vw, mb, vb, gw, gb, mask: new Float32Array(0) };
    });
    return { stepper: new OnnxDenseStepper(sessions, layers, optimizer, simd, numClasses) };
  }

  resetOptimizer(): void {
    this.t = 0;
    for (const p of this.layers) for (const a of [p.mw, p.vw, p.mb, p.vb]) a.fill(0);
  }

  private ensureRows(rows: number): void {
    if (this.cap >= rows) return;
    this.cap = rows;
    this.xIn = new Float32Array(rows * (this.layers[0]?.inSize ?? 0));
    this.target = new Float32Array(rows * this.numClasses);
    this.rowWeight = new Float32Array(rows);
    for (const p of this.layers) p.mask = new Float32Array(rows * p.inSize);
  }

  private tensor(data: Float32Array, dims: number[]): OrtTensor {
    return new this.sessions.ort.Tensor('float32', data, dims);
  }

  private parameterFeeds(feeds: Record<string, OrtTensor>): void {
    this.layers.forEach((p, l) => {
      feeds[`w${l}`] = this.tensor(p.w, [p.inSize, p.outSize]);
      feeds[`b${l}`] = this.tensor(p.b, [p.outSize]);
    });
  }

  async step(x: Float32Array, y: Int32Array, w: Float32Array, lr: number, rand: () => number): Promise<{ loss: number; hits: number }> {
    const rows = y.length;
    const k = this.numClasses;
    this.ensureRows(rows);
    const first = this.layers[0] as Layer;
    const n0 = rows * first.inSize;
    // Dropout masks in layer order, one rand() each: DenseStepper's stream.
    if (first.rate > 0) fillMasked(x, n0, first.rate, rand, this.xIn, null);
    else this.xIn.set(x.subarray(0, n0));
    const feeds: Record<string, OrtTensor> = { x: this.tensor(this.xIn.subarray(0, n0), [rows, first.inSize]) };
    this.layers.forEach((p, l) => {
      if (l === 0 || p.rate <= 0) return;
      fillMasked(null, rows * p.inSize, p.rate, rand, null, p.mask);
      feeds[`mask${l}`] = this.tensor(p.mask.subarray(0, rows * p.inSize), [rows, p.inSize]);
    });
    const target = this.target.subarray(0, rows * k);
    target.fill(0);
    for (let i = 0; i < rows; i++) {
      const wi = (w[i] as number) / rows;
      this.rowWeight[i] = wi;
      target[i * k + (y[i] as number)] = wi;
    }
    feeds.target = this.tensor(target, [rows, k]);
    feeds.rowWeight = this.tensor(this.rowWeight.subarray(0, rows), [rows, 1]);
    this.parameterFeeds(feeds);
    const out = await this.sessions.gradients.run(feeds);

    this.t++;
    const params = this.layers.flatMap((pl, l) => {
      pl.gw.set(out[`gw${l}`]?.data as Float32Array);
      pl.gb.set(out[`gb${l}`]?.data as Float32Array);
      return [
        { p: pl.w, m: pl.mw, v: pl.vw, g: pl.gw },
        { p: pl.b, m: pl.mb, v: pl.vb, g: pl.gb },
      ];
    });
    updateParams(this.simd, this.optimizer, this.t, lr, params);
    return scoreBatch(out.probs?.data as Float32Array, y, w, k);
  }

  async predict(x: Float32Array, rows: number): Promise<Float32Array> {
    const inSize = this.layers[0]?.inSize ?? 0;
    const feeds: Record<string, OrtTensor> = { x: this.tensor(x.subarray(0, rows * inSize), [rows, inSize]) };
    this.parameterFeeds(feeds);
    const out = await this.sessions.forward.run(feeds);
    return out.probs?.data as Float32Array;
  }

  snapshot(): Float32Array[] {
    return snapshotDense(this.layers);
  }

  restore(s: Float32Array[]): void {
    restoreDense(this.layers, s);
  }

  finish(): void {
    writeDenseWeights(this.layers);
  }

  /** The sessions are shared (see sessionCache) and the wasm memory is garbage-collected. */
  dispose(): void {}
}
