import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { buildSpatialForward, buildSpatialGradients, type SpatialHeadShape } from '../onnx/spatial-train-graph.ts';
import type { OrtTensor } from '../onnx/runtime.ts';
import { type ChannelProjection, projectKernel, unprojectKernel } from './channel-projection.ts';
import { fillMasked } from './dense-stepper.ts';
import type { Pooling } from './features.ts';
import { type ArenaParam, type StepSessions, prepareStepRuntime, scoreBatch, stepSessions, updateParams } from './ort-step.ts';
import { MovingBatchStats } from './moving-batch-stats.ts';
import type { SimdOptimizer } from './simd-optimizer.ts';
import type { OptimizerName, Stepper } from './stepper.ts';

function sessionsFor(shape: SpatialHeadShape): Promise<StepSessions> {
  // Every core: unlike the dense head's 32×576 products, the 1×1 convolution is a [B·P, C] × [C, F]
  // product (3,200 × 128 × 128 for a batch of 32 at 160 px) that splits well.
  return stepSessions(`spatial:${JSON.stringify(shape)}`, Math.max(1, os.cpus().length), () => ({
    gradients: buildSpatialGradients(shape),
    forward: buildSpatialForward(shape),
  }));
}

const PARAMS = ['wc', 'gamma', 'beta', 'wd', 'bd'] as const;
type ParamName = (typeof PARAMS)[number];

/** Rows per inference run. */
const PREDICT_CHUNK = 64;

/** What a spatial head built by buildHead holds, read from its layers. */
export function readSpatialHead(head: tf.LayersModel): { shape: Omit<SpatialHeadShape, 'positions' | 'classes'>; rate: number; values: Record<ParamName, Float32Array>; stats: [Float32Array, Float32Array] } {
  const layer = (name: string) => {
    const l = head.layers.find((x) => x.name === name);
    if (!l) throw new Error(`spatial head has no layer ${name}`);
    return l;
  };
  const [kernel] = layer('head_conv').getWeights();
  const [gamma, beta, mean, variance] = layer('head_bn').getWeights();
  const [wd, bd] = layer('head_output').getWeights();
  if (!kernel || !gamma || !beta || !mean || !variance || !wd || !bd) throw new Error('spatial head weights are incomplete');
  const [, , channels, filters] = kernel.shape as [number, number, number, number];
  const bn = layer('head_bn').getConfig();
  const dropout = head.layers.find((l) => l.getClassName() === 'Dropout');
  const names = new Set(head.layers.map((l) => l.name));
  const pooling: Pooling = names.has('head_pool_avg') && names.has('head_pool_max') ? 'avgmax' : names.has('head_pool_max') ? 'max' : 'avg';
  const data = (t: tf.Tensor) => Float32Array.from(t.dataSync() as Float32Array);
  return {
    shape: { channels, filters, pooling, epsilon: (bn.epsilon as number) ?? 1e-3 },
    rate: dropout ? ((dropout.getConfig().rate as number) ?? 0) : 0,
    values: { wc: data(kernel), gamma: data(gamma), beta: data(beta), wd: data(wd), bd: data(bd) },
    stats: [data(mean), data(variance)],
  };
}

/**
 * Training steps of the spatial head (1×1 conv → batch norm → ReLU → pooling → dropout → dense)
 * on cached feature maps: forward and gradients as one ONNX Runtime run, Adam/momentum in the
 * wasm SIMD loop, as the dense head's OnnxDenseStepper. Batch norm normalises with the batch's
 * statistics while training and with their moving average when predicting (Keras semantics).
 */
export class OnnxSpatialStepper implements Stepper {
  private t = 0;
  private readonly stats: MovingBatchStats;
  private mask = new Float32Array(0);
  private target = new Float32Array(0);
  private rowWeight = new Float32Array(0);

  private constructor(
    private readonly head: tf.LayersModel,
    private readonly sessions: StepSessions,
    private readonly shape: SpatialHeadShape,
    private readonly rate: number,
    private readonly params: Record<ParamName, ArenaParam>,
    private readonly optimizer: OptimizerName,
    private readonly simd: SimdOptimizer,
    initialStats: [Float32Array, Float32Array],
    private readonly projection: ChannelProjection | null,
  ) {
    this.stats = new MovingBatchStats(initialStats);
  }

  /**
   * A stepper for this head on [h, w, c] maps, or null with the reason when ORT or wasm SIMD is
   * missing. With a channel projection the maps are [h, w, dims] (already projected) and the kernel
   * trains in the subspace; finish() writes P·W, a kernel on the full map.
   */
  static async create(
    head: tf.LayersModel,
    optimizer: OptimizerName,
    numClasses: number,
    itemShape: number[],
    projection: ChannelProjection | null = null,
  ): Promise<{ stepper: OnnxSpatialStepper } | { reason: string }> {
    const read = readSpatialHead(head);
    const [h, w, c] = itemShape as [number, number, number];
    if (projection && projection.channels !== read.shape.channels) throw new Error(`channel projection is for ${projection.channels} channels, the head has ${read.shape.channels}`);
    const channels = projection ? projection.dims : read.shape.channels;
    if (c !== channels) throw new Error(`spatial head expects ${channels} channels, features have ${c}`);
    if (projection) read.values.wc = projectKernel(projection, read.values.wc, read.shape.filters);
    const shape: SpatialHeadShape = { ...read.shape, channels, positions: h * w, classes: numClasses };
    const sizes = PARAMS.flatMap((name) => new Array<number>(4).fill(read.values[name].length));
    const prepared = await prepareStepRuntime(sizes, () => sessionsFor(shape));
    if ('reason' in prepared) return prepared;
    const { simd, sessions } = prepared;
    const views = simd.views;
    const params = Object.fromEntries(
      PARAMS.map((name, i) => {
        const [p, m, v, g] = views.slice(4 * i, 4 * i + 4) as [Float32Array, Float32Array, Float32Array, Float32Array];
        p.set(read.values[name]);
        return [name, { p, m, v, g }];
      }),
    ) as Record<ParamName, ArenaParam>;
    return { stepper: new OnnxSpatialStepper(head, sessions, shape, read.rate, params, optimizer, simd, read.stats, projection) };
  }

  resetOptimizer(): void {
    this.t = 0;
    for (const name of PARAMS) {
      this.params[name].m.fill(0);
      this.params[name].v.fill(0);
    }
  }

  private tensor(data: Float32Array, dims: number[]): OrtTensor {
    return new this.sessions.ort.Tensor('float32', data, dims);
  }

  private ensureRows(rows: number): void {
    if (this.rowWeight.length >= rows) return;
    this.mask = new Float32Array(rows * this.pooledSize());
    this.target = new Float32Array(rows * this.shape.classes);
    this.rowWeight = new Float32Array(rows);
  }

  private pooledSize(): number {
    return this.shape.pooling === 'avgmax' ? 2 * this.shape.filters : this.shape.filters;
  }

  async step(x: Float32Array, y: Int32Array, w: Float32Array, lr: number, rand: () => number): Promise<{ loss: number; hits: number }> {
    const rows = y.length;
    const { positions, channels, filters, classes: k } = this.shape;
    const d = this.pooledSize();
    this.ensureRows(rows);
    const mask = this.mask.subarray(0, rows * d);
    if (this.rate > 0) fillMasked(null, rows * d, this.rate, rand, null, mask);
    else mask.fill(1);
    const target = this.target.subarray(0, rows * k);
    target.fill(0);
    for (let i = 0; i < rows; i++) {
      const wi = (w[i] as number) / rows;
      this.rowWeight[i] = wi;
      target[i * k + (y[i] as number)] = wi;
    }
    const P = this.params;
    const out = await this.sessions.gradients.run({
      x: this.tensor(x.subarray(0, rows * positions * channels), [rows, positions, channels]),
      mask: this.tensor(mask, [rows, d]),
      target: this.tensor(target, [rows, k]),
      rowWeight: this.tensor(this.rowWeight.subarray(0, rows), [rows, 1]),
      wc: this.tensor(P.wc.p, [channels, filters]),
      gamma: this.tensor(P.gamma.p, [filters]),
      beta: this.tensor(P.beta.p, [filters]),
      wd: this.tensor(P.wd.p, [d, k]),
      bd: this.tensor(P.bd.p, [k]),
    });
    this.stats.update(out.batch_mean?.data as Float32Array, out.batch_var?.data as Float32Array);
    this.t++;
    for (const name of PARAMS) P[name].g.set(out[`g_${name}`]?.data as Float32Array);
    updateParams(this.simd, this.optimizer, this.t, lr, PARAMS.map((name) => P[name]));
    return scoreBatch(out.probs?.data as Float32Array, y, w, k);
  }

  async predict(x: Float32Array, rows: number): Promise<Float32Array> {
    const { positions, channels, filters, classes: k, epsilon } = this.shape;
    const [mean, variance] = this.stats.current();
    const scale = new Float32Array(filters);
    const shift = new Float32Array(filters);
    for (let f = 0; f < filters; f++) {
      scale[f] = (this.params.gamma.p[f] as number) / Math.sqrt((variance[f] as number) + epsilon);
      shift[f] = (this.params.beta.p[f] as number) - (mean[f] as number) * (scale[f] as number);
    }
    const per = positions * channels;
    const out = new Float32Array(rows * k);
    for (let s = 0; s < rows; s += PREDICT_CHUNK) {
      const e = Math.min(rows, s + PREDICT_CHUNK);
      const res = await this.sessions.forward.run({
        x: this.tensor(x.subarray(s * per, e * per), [e - s, positions, channels]),
        wc: this.tensor(this.params.wc.p, [channels, filters]),
        scale: this.tensor(scale, [filters]),
        shift: this.tensor(shift, [filters]),
        wd: this.tensor(this.params.wd.p, [this.pooledSize(), k]),
        bd: this.tensor(this.params.bd.p, [k]),
      });
      out.set(res.probs?.data as Float32Array, s * k);
    }
    return out;
  }

  snapshot(): Float32Array[] {
    return [...PARAMS.map((name) => Float32Array.from(this.params[name].p)), ...this.stats.snapshot()];
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Float32Array[];
    PARAMS.forEach((name, i) => {
      this.params[name].p.set(s[i] as Float32Array);
    });
    this.stats.restore(s, PARAMS.length);
  }

  /** Writes weights and moving statistics into the head's layers. */
  finish(): void {
    const { channels, filters, classes: k } = this.shape;
    const [mean, variance] = this.stats.current();
    const set = (name: string, tensors: tf.Tensor[]) => {
      this.head.getLayer(name).setWeights(tensors);
      tf.dispose(tensors);
    };
    // Copies: a tensor may keep the array it was made from, and the arena lives on.
    const kernel = this.projection ? unprojectKernel(this.projection, this.params.wc.p, filters) : Float32Array.from(this.params.wc.p);
    set('head_conv', [tf.tensor4d(kernel, [1, 1, this.projection?.channels ?? channels, filters])]);
    set('head_bn', [
      tf.tensor1d(Float32Array.from(this.params.gamma.p)),
      tf.tensor1d(Float32Array.from(this.params.beta.p)),
      tf.tensor1d(mean),
      tf.tensor1d(variance),
    ]);
    set('head_output', [tf.tensor2d(Float32Array.from(this.params.wd.p), [this.pooledSize(), k]), tf.tensor1d(Float32Array.from(this.params.bd.p))]);
  }

  /** The sessions are shared (see sessionCache) and the wasm memory is garbage-collected. */
  dispose(): void {}
}
