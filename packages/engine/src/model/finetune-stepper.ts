import { createHash } from 'node:crypto';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { type BlockTrainGraphs, buildBlockTrainGraphs } from '../onnx/block-train-graph.ts';
import type { OrtModule, OrtSession, OrtTensor } from '../onnx/runtime.ts';
import { buildSpatialForward, buildSpatialGradients, spatialForwardInputs, spatialTrainingInputs } from '../onnx/spatial-train-graph.ts';
import { fillMasked } from './dense-stepper.ts';
import { AbortError } from './features.ts';
import { type ArenaParam, namedSessions, prepareStepRuntime, scoreBatch, updateParams } from './ort-step.ts';
import { MovingBatchStats } from './moving-batch-stats.ts';
import type { SimdOptimizer } from './simd-optimizer.ts';
import { readSpatialHead } from './spatial-stepper.ts';
import type { OptimizerName, Stepper } from './stepper.ts';

type Sessions = Record<'finetune' | 'head' | 'forward' | 'blocks' | 'headOnMaps' | 'forwardOnMaps', OrtSession> & { ort: OrtModule };

const HEAD_PARAMS = ['wc', 'gamma', 'beta', 'wd', 'bd'] as const;
type HeadParam = (typeof HEAD_PARAMS)[number];

/** Rows per inference run: maps below the blocks are large per row. */
const PREDICT_CHUNK = 32;

/**
 * Staged fine-tuning in ONNX Runtime: the unfrozen backbone blocks and the spatial head on top,
 * trained on boundary maps (the frozen part's cached output). A 'head' step runs the blocks forward
 * and the head's backward pass; a 'finetune' step backpropagates through the blocks too (see
 * onnx/block-train-graph.ts) and updates everything. One session run per step, the optimizer in
 * the wasm SIMD loop; finish() writes the blocks' weights back into the TF.js model, so export and
 * deploy carry what was trained.
 *
 * The blocks do not change during head-only epochs: trainClassifier runs them once (blockOutputs)
 * and, after useBlockOutputs(true), 'head' steps and predict() take those maps and run the head
 * graphs alone, the same ops the combined graph runs after the blocks.
 */
export class OnnxFinetuneStepper implements Stepper {
  private t = 0;
  private readonly stats: MovingBatchStats;
  private mask = new Float32Array(0);
  private target = new Float32Array(0);
  private rowWeight = new Float32Array(0);
  /** Per-step feeds that do not change: block-norm statistics. */
  private readonly constantFeeds: Record<string, OrtTensor>;
  /** 'head' steps and predict() take the blocks' output maps instead of boundary maps. */
  private onBlockOutputs = false;
  /** Session runs per graph: how a test tells that head-only steps no longer run the blocks. */
  readonly runs = { finetune: 0, head: 0, forward: 0, blocks: 0, headOnMaps: 0, forwardOnMaps: 0 };

  private constructor(
    private readonly head: tf.LayersModel,
    private readonly blocks: tf.LayersModel,
    private readonly sessions: Sessions,
    private readonly graphs: BlockTrainGraphs,
    private readonly inputShape: number[],
    private readonly classes: number,
    private readonly filters: number,
    private readonly epsilon: number,
    private readonly rate: number,
    private readonly headParams: Record<HeadParam, ArenaParam>,
    private readonly blockParams: ArenaParam[],
    private readonly optimizer: OptimizerName,
    private readonly simd: SimdOptimizer,
    initialStats: [Float32Array, Float32Array],
    constants: Float32Array[],
  ) {
    this.stats = new MovingBatchStats(initialStats);
    this.constantFeeds = Object.fromEntries(graphs.constants.map((c, i) => [c.name, this.tensor(constants[i] as Float32Array, c.shape)]));
  }

  /**
   * A stepper for `blocks` under the spatial `head` on boundary maps of `inputShape`, or the reason
   * it cannot run here (ONNX Runtime or wasm SIMD missing, a layer without a backward pass, a dense
   * head): the caller then trains through TF.js autodiff.
   */
  static async create(
    head: tf.LayersModel,
    blocks: tf.LayersModel,
    optimizer: OptimizerName,
    numClasses: number,
    inputShape: number[],
  ): Promise<{ stepper: OnnxFinetuneStepper } | { reason: string }> {
    if (!head.layers.some((l) => l.name === 'head_conv')) return { reason: 'the ONNX fine-tuning graph trains a spatial head; this head is dense' };
    const read = readSpatialHead(head);
    let graphs: BlockTrainGraphs;
    try {
      graphs = buildBlockTrainGraphs(blocks, inputShape, { ...read.shape, classes: numClasses });
    } catch (err) {
      return { reason: err instanceof Error ? err.message : String(err) };
    }
    const oc = graphs.outputShape[2];
    if (oc !== read.shape.channels) throw new Error(`spatial head expects ${read.shape.channels} channels, the blocks give ${oc}`);
    const weights = new Map<string, tf.Tensor[]>(blocks.layers.map((l) => [l.name, l.getWeights()]));
    const data = (t: tf.Tensor | undefined) => Float32Array.from((t?.dataSync() ?? []) as Float32Array);
    const blockValues = graphs.params.map((p) => data(weights.get(p.layer)?.[p.index]));
    // Batch-norm statistics, frozen: moving mean and 1/√(σ²+ε) per normalised layer.
    const constants = graphs.constants.map((c) => {
      const layer = blocks.getLayer(c.layer);
      const names = layer.weights.map((w) => (w.originalName.split('/').pop() ?? '').replace(/_\d+$/, ''));
      const w = weights.get(c.layer) as tf.Tensor[];
      if (c.kind === 'mean') return data(w[names.indexOf('moving_mean')]);
      const eps = Number((layer.getConfig() as { epsilon?: number }).epsilon ?? 1e-3);
      return data(w[names.indexOf('moving_variance')]).map((v) => 1 / Math.sqrt(v + eps));
    });
    const sizes = [...HEAD_PARAMS.map((n) => read.values[n].length), ...blockValues.map((v) => v.length)].flatMap((n) => new Array<number>(4).fill(n));
    // Sessions hold no weights: one set serves every run with this block structure and head shape.
    const key = `finetune:${createHash('sha1').update(JSON.stringify(blocks.toJSON(null, false))).digest('hex')}:${JSON.stringify([inputShape, read.shape, numClasses])}`;
    const prepared = await prepareStepRuntime(sizes, () =>
      namedSessions(key, Math.max(1, os.cpus().length), () => ({
        finetune: graphs.finetune.bytes,
        head: graphs.head.bytes,
        forward: graphs.forward.bytes,
        blocks: graphs.blocks.bytes,
        headOnMaps: buildSpatialGradients(graphs.headShape),
        forwardOnMaps: buildSpatialForward(graphs.headShape),
      })),
    );
    if ('reason' in prepared) return prepared;
    const views = prepared.simd.views;
    const arena = (i: number, values: Float32Array): ArenaParam => {
      const [p, m, v, g] = views.slice(4 * i, 4 * i + 4) as [Float32Array, Float32Array, Float32Array, Float32Array];
      p.set(values);
      return { p, m, v, g };
    };
    const headParams = Object.fromEntries(HEAD_PARAMS.map((n, i) => [n, arena(i, read.values[n])])) as Record<HeadParam, ArenaParam>;
    const blockParams = blockValues.map((v, i) => arena(HEAD_PARAMS.length + i, v));
    const stepper = new OnnxFinetuneStepper(
      head, blocks, prepared.sessions, graphs, inputShape, numClasses, read.shape.filters, read.shape.epsilon, read.rate,
      headParams, blockParams, optimizer, prepared.simd, read.stats, constants,
    );
    return { stepper };
  }

  private tensor(data: Float32Array, dims: number[]): OrtTensor {
    return new this.sessions.ort.Tensor('float32', data, dims);
  }

  /** What the blocks produce per row, [h, w, c]: the maps blockOutputs() returns. */
  get blockOutputShape(): number[] {
    return this.graphs.outputShape;
  }

  /** The blocks' output (inference, their current weights) for `rows` boundary maps, rows × h·w·c. */
  async blockOutputs(x: Float32Array, rows: number, signal?: AbortSignal): Promise<Float32Array> {
    const per = this.inputShape.reduce((a, b) => a * b, 1);
    const outPer = this.graphs.outputShape.reduce((a, b) => a * b, 1);
    const out = new Float32Array(rows * outPer);
    for (let s = 0; s < rows; s += PREDICT_CHUNK) {
      if (signal?.aborted) throw new AbortError();
      const e = Math.min(rows, s + PREDICT_CHUNK);
      const feeds = this.parameterFeeds({ x: this.tensor(x.subarray(s * per, e * per), [e - s, ...this.inputShape]) }, this.graphs.blocks.inputs);
      const res = await this.sessions.blocks.run(feeds);
      this.runs.blocks++;
      out.set(res[this.graphs.blocks.outputs[0] as string]?.data as Float32Array, s * outPer);
    }
    return out;
  }

  /**
   * On: 'head' steps and predict() take the blocks' output maps (blockOutputs, computed while the
   * blocks are frozen) and run the head graphs alone. Off (default): they take boundary maps.
   */
  useBlockOutputs(on: boolean): void {
    this.onBlockOutputs = on;
  }

  private pooledSize(): number {
    const d = this.headParams.wd.p.length / this.classes;
    return d;
  }

  resetOptimizer(): void {
    this.t = 0;
    for (const q of [...Object.values(this.headParams), ...this.blockParams]) {
      q.m.fill(0);
      q.v.fill(0);
    }
  }

  private parameterFeeds(feeds: Record<string, OrtTensor>, inputs: string[]): Record<string, OrtTensor> {
    const [c, f] = [this.headParams.wc.p.length / this.filters, this.filters];
    const all: Record<string, () => OrtTensor> = {
      wc: () => this.tensor(this.headParams.wc.p, [c, f]),
      gamma: () => this.tensor(this.headParams.gamma.p, [f]),
      beta: () => this.tensor(this.headParams.beta.p, [f]),
      wd: () => this.tensor(this.headParams.wd.p, [this.pooledSize(), this.classes]),
      bd: () => this.tensor(this.headParams.bd.p, [this.classes]),
    };
    this.graphs.params.forEach((p, i) => {
      all[p.name] = () => this.tensor((this.blockParams[i] as ArenaParam).p, p.shape);
    });
    for (const name of inputs) {
      if (feeds[name]) continue;
      const make = all[name];
      const constant = this.constantFeeds[name];
      if (make) feeds[name] = make();
      else if (constant) feeds[name] = constant;
      else throw new Error(`fine-tuning stepper: no feed for graph input ${name}`);
    }
    return feeds;
  }

  /**
   * One step's outputs: probabilities, the head's gradients and batch statistics, and (finetune)
   * every block gradient. Public for the numerical check against TF.js autodiff.
   */
  async gradients(x: Float32Array, y: Int32Array, w: Float32Array, rand: () => number, phase: 'head' | 'finetune'): Promise<Record<string, Float32Array>> {
    const rows = y.length;
    const k = this.classes;
    const d = this.pooledSize();
    if (this.rowWeight.length < rows) {
      this.mask = new Float32Array(rows * d);
      this.target = new Float32Array(rows * k);
      this.rowWeight = new Float32Array(rows);
    }
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
    if (phase === 'finetune' && this.onBlockOutputs) throw new Error('fine-tuning stepper: a fine-tune step needs boundary maps; call useBlockOutputs(false) first');
    const onMaps = phase === 'head' && this.onBlockOutputs;
    const hs = this.graphs.headShape;
    const xShape = onMaps ? [rows, hs.positions, hs.channels] : [rows, ...this.inputShape];
    const per = xShape.slice(1).reduce((a, b) => a * b, 1);
    const which = onMaps ? 'headOnMaps' : phase;
    const inputs = onMaps ? ['x', ...spatialTrainingInputs(hs).map((i) => i.name)] : (phase === 'head' ? this.graphs.head : this.graphs.finetune).inputs;
    const feeds = this.parameterFeeds(
      {
        x: this.tensor(x.subarray(0, rows * per), xShape),
        mask: this.tensor(mask, [rows, d]),
        target: this.tensor(target, [rows, k]),
        rowWeight: this.tensor(this.rowWeight.subarray(0, rows), [rows, 1]),
      },
      inputs,
    );
    const out = await this.sessions[which].run(feeds);
    this.runs[which]++;
    const o = this.graphs.headOutputs;
    const result: Record<string, Float32Array> = {};
    for (const name of Object.keys(o) as (keyof typeof o)[]) result[name] = out[o[name]]?.data as Float32Array;
    if (phase === 'finetune') for (const p of this.graphs.params) result[`${p.layer}:${p.index}`] = out[p.grad]?.data as Float32Array;
    return result;
  }

  async step(x: Float32Array, y: Int32Array, w: Float32Array, lr: number, rand: () => number, phase: 'train' | 'head' | 'finetune'): Promise<{ loss: number; hits: number }> {
    const which = phase === 'head' ? 'head' : 'finetune';
    const out = await this.gradients(x, y, w, rand, which);
    this.stats.update(out.batch_mean as Float32Array, out.batch_var as Float32Array);
    this.t++;
    const update: ArenaParam[] = [];
    for (const name of HEAD_PARAMS) {
      this.headParams[name].g.set(out[`g_${name}`] as Float32Array);
      update.push(this.headParams[name]);
    }
    if (which === 'finetune')
      this.graphs.params.forEach((p, i) => {
        const q = this.blockParams[i] as ArenaParam;
        q.g.set(out[`${p.layer}:${p.index}`] as Float32Array);
        update.push(q);
      });
    updateParams(this.simd, this.optimizer, this.t, lr, update);
    return scoreBatch(out.probs as Float32Array, y, w, this.classes);
  }

  async predict(x: Float32Array, rows: number): Promise<Float32Array> {
    const [mean, variance] = this.stats.current();
    const f = this.filters;
    const scale = new Float32Array(f);
    const shift = new Float32Array(f);
    for (let i = 0; i < f; i++) {
      scale[i] = (this.headParams.gamma.p[i] as number) / Math.sqrt((variance[i] as number) + this.epsilon);
      shift[i] = (this.headParams.beta.p[i] as number) - (mean[i] as number) * (scale[i] as number);
    }
    const hs = this.graphs.headShape;
    const onMaps = this.onBlockOutputs;
    const itemShape = onMaps ? [hs.positions, hs.channels] : this.inputShape;
    const per = itemShape.reduce((a, b) => a * b, 1);
    const inputs = onMaps ? ['x', ...spatialForwardInputs(hs).map((i) => i.name)] : this.graphs.forward.inputs;
    const which = onMaps ? 'forwardOnMaps' : 'forward';
    const k = this.classes;
    const out = new Float32Array(rows * k);
    for (let s = 0; s < rows; s += PREDICT_CHUNK) {
      const e = Math.min(rows, s + PREDICT_CHUNK);
      const feeds = this.parameterFeeds(
        { x: this.tensor(x.subarray(s * per, e * per), [e - s, ...itemShape]), scale: this.tensor(scale, [f]), shift: this.tensor(shift, [f]) },
        inputs,
      );
      const res = await this.sessions[which].run(feeds);
      this.runs[which]++;
      // The spatial forward graph names its output 'probs'; the combined one, whatever it built.
      const name = onMaps ? (Object.keys(res)[0] as string) : (this.graphs.forward.outputs[0] as string);
      out.set(res[name]?.data as Float32Array, s * k);
    }
    return out;
  }

  snapshot(): Float32Array[] {
    return [
      ...HEAD_PARAMS.map((n) => Float32Array.from(this.headParams[n].p)),
      ...this.blockParams.map((q) => Float32Array.from(q.p)),
      ...this.stats.snapshot(),
    ];
  }

  restore(snapshot: unknown): void {
    const s = snapshot as Float32Array[];
    let i = 0;
    for (const n of HEAD_PARAMS) this.headParams[n].p.set(s[i++] as Float32Array);
    for (const q of this.blockParams) q.p.set(s[i++] as Float32Array);
    this.stats.restore(s, i);
  }

  /** Writes the head's weights and statistics, and every trained block tensor, into the TF.js models. */
  finish(): void {
    const [mean, variance] = this.stats.current();
    const f = this.filters;
    const c = this.headParams.wc.p.length / f;
    const set = (model: tf.LayersModel, name: string, tensors: tf.Tensor[]) => {
      model.getLayer(name).setWeights(tensors);
      tf.dispose(tensors);
    };
    // Copies: a tensor may keep the array it was made from, and the arena lives on.
    const copy = (a: Float32Array) => Float32Array.from(a);
    set(this.head, 'head_conv', [tf.tensor4d(copy(this.headParams.wc.p), [1, 1, c, f])]);
    set(this.head, 'head_bn', [tf.tensor1d(copy(this.headParams.gamma.p)), tf.tensor1d(copy(this.headParams.beta.p)), tf.tensor1d(mean), tf.tensor1d(variance)]);
    set(this.head, 'head_output', [tf.tensor2d(copy(this.headParams.wd.p), [this.pooledSize(), this.classes]), tf.tensor1d(copy(this.headParams.bd.p))]);
    const byLayer = new Map<string, { index: number; data: Float32Array; shape: number[] }[]>();
    this.graphs.params.forEach((p, i) => {
      const list = byLayer.get(p.layer) ?? [];
      list.push({ index: p.index, data: copy((this.blockParams[i] as ArenaParam).p), shape: p.shape });
      byLayer.set(p.layer, list);
    });
    for (const [name, list] of byLayer) {
      const layer = this.blocks.getLayer(name);
      const current = layer.getWeights();
      const next = current.map((t, i) => {
        const hit = list.find((x) => x.index === i);
        return hit ? tf.tensor(hit.data, hit.shape) : t;
      });
      layer.setWeights(next);
      tf.dispose(next.filter((t, i) => t !== current[i]));
    }
  }

  /** The sessions are shared (by block structure and head shape) and the wasm memory is garbage-collected. */
  dispose(): void {}
}
