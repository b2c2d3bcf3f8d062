import type * as tf from '@tensorflow/tfjs';
import { DenseStepper } from './dense-stepper.ts';
import { AbortError } from './features.ts';
import type { ChannelProjection } from './channel-projection.ts';
import { isSpatialHead } from './head.ts';
import { OnnxDenseStepper } from './onnx-dense-stepper.ts';
import { OnnxFinetuneStepper } from './finetune-stepper.ts';
import { scoreBatch } from './ort-step.ts';
import { OnnxSpatialStepper } from './spatial-stepper.ts';
import { AutodiffStepper, type LabeledArray, type OptimizerName, type Stepper } from './stepper.ts';

export { headForward, type LabeledArray, type OptimizerName } from './stepper.ts';

export type Schedule = 'constant' | 'cosine' | 'step';

export interface EpochLog {
  epoch: number;
  loss: number;
  acc: number;
  valLoss: number | null;
  valAcc: number | null;
  lr: number;
  /** 'head' during staged head-only epochs, 'finetune' after, 'train' otherwise. */
  phase: 'train' | 'head' | 'finetune';
}

/** The train node's knobs, shared by trainClassifier and trainOnDataset. */
export interface TrainParams {
  optimizer?: OptimizerName;
  learningRate?: number;
  schedule?: Schedule;
  batchSize?: number;
  epochs?: number;
  earlyStopping?: boolean;
  patience?: number;
  classWeights?: 'none' | 'balanced';
  restoreBest?: boolean;
  seed?: number;
}

export interface TrainOptions extends TrainParams {
  /** Head built by buildHead; its input matches the output of `trainable` (or the cached features). */
  head: tf.LayersModel;
  /** Backbone blocks after the freeze boundary, trained together with the head; null = head only. */
  trainable?: tf.LayersModel | null;
  train: LabeledArray;
  val?: LabeledArray | null;
  numClasses: number;
  /** Staged fine-tuning: head-only for headEpochs, then head + trainable at lr × fineTuneLrFactor. */
  staged?: { headEpochs: number; fineTuneLrFactor: number } | null;
  onEpoch?: (log: EpochLog & { epochs: number; etaMs: number }) => void;
  onBatch?: (info: { epoch: number; batch: number; batches: number; loss: number; etaMs: number }) => void;
  /**
   * onBatch calls per epoch (spread evenly, the last batch always included); default: every batch.
   * A count rather than a stride: the training set's size is known only here (few-shot views).
   */
  batchEventsPerEpoch?: number;
  signal?: AbortSignal;
  /**
   * Engine of the dense, spatial and fine-tuning paths: 'auto' (default) runs forward and gradients in
   * ONNX Runtime and the optimizer in wasm SIMD where both load, else 'js'; 'js' forces DenseStepper
   * (TF.js products) or, for a spatial head (with or without trainable blocks), TF.js autodiff.
   */
  denseEngine?: 'auto' | 'js';
  /**
   * Spatial head only: `train`/`val` maps are already projected onto these channel directions
   * (fitChannelProjection); the kernel trains in the subspace and is written back full size.
   * Needs ONNX Runtime (the TF.js fallback trains on full maps).
   */
  channelProjection?: ChannelProjection | null;
  /**
   * Staged fine-tuning on the ONNX path: the head-only epochs train on the frozen blocks' output,
   * computed once, if train + val maps of it fit in this many bytes (default
   * BLOCK_OUTPUT_CACHE_BYTES); beyond it (or 0) every head-only step runs the blocks forward again.
   */
  blockOutputCacheBytes?: number;
}

/**
 * Bytes of the blocks' output kept for staged head-only epochs. The default template's steel
 * sample needs ≈ 0.64 GB (2,790 maps of 10×10×576): the frozen path holds maps of that size too.
 */
export const BLOCK_OUTPUT_CACHE_BYTES = 1024 ** 3;

export interface TrainResult {
  head: tf.LayersModel;
  trainable: tf.LayersModel | null;
  history: EpochLog[];
  /** 1-based epoch whose weights the models hold (best monitored loss when restoreBest). */
  bestEpoch: number;
  stoppedEarly: boolean;
  durationMs: number;
  classWeights: number[];
  /**
   * 'dense' (hand-written backprop on pooled vectors), 'spatial' (a spatial head on cached feature
   * maps, gradients as an ONNX graph), 'finetune' (trainable backbone blocks + spatial head, their
   * backward pass as an ONNX graph) or 'autodiff' (TF.js; trainable blocks where 'finetune' cannot run).
   */
  path: 'dense' | 'spatial' | 'finetune' | 'autodiff';
  /** What ran the steps: 'onnxruntime' (ONNX Runtime + wasm SIMD) or 'tfjs' (TF.js backend + JS). */
  stepEngine: 'onnxruntime' | 'tfjs';
  /** Why the dense, spatial or fine-tuning path did not use ONNX Runtime; null when it did or nothing else was possible. */
  stepFallbackReason: string | null;
}

async function makeStepper(
  options: TrainOptions,
  path: TrainResult['path'],
  numClasses: number,
): Promise<{ stepper: Stepper; engine: TrainResult['stepEngine']; reason: string | null; path: TrainResult['path'] }> {
  const optimizer = options.optimizer ?? 'adam';
  const autodiff = () => new AutodiffStepper(options.head, options.trainable ?? null, optimizer, options.train.shape, numClasses);
  if (path === 'autodiff') return { stepper: autodiff(), engine: 'tfjs', reason: null, path };
  if (path === 'finetune') {
    // Blocks + spatial head in ONNX Runtime; anything it cannot run trains through TF.js autodiff.
    if ((options.denseEngine ?? 'auto') === 'js') return { stepper: autodiff(), engine: 'tfjs', reason: 'denseEngine: js', path: 'autodiff' };
    const made = await OnnxFinetuneStepper.create(options.head, options.trainable as tf.LayersModel, optimizer, numClasses, options.train.shape);
    if ('stepper' in made) return { stepper: made.stepper, engine: 'onnxruntime', reason: null, path };
    return { stepper: autodiff(), engine: 'tfjs', reason: made.reason, path: 'autodiff' };
  }
  if (path === 'spatial') {
    // Without ONNX Runtime the same head trains through TF.js autodiff (slower, same model).
    const projection = options.channelProjection ?? null;
    if ((options.denseEngine ?? 'auto') === 'js' && !projection) return { stepper: autodiff(), engine: 'tfjs', reason: 'denseEngine: js', path };
    const made = await OnnxSpatialStepper.create(options.head, optimizer, numClasses, options.train.shape, projection);
    if ('stepper' in made) return { stepper: made.stepper, engine: 'onnxruntime', reason: null, path };
    if (projection) throw new Error(`train: projected feature maps need ONNX Runtime (${made.reason})`);
    return { stepper: autodiff(), engine: 'tfjs', reason: made.reason, path };
  }
  let reason = 'denseEngine: js';
  if ((options.denseEngine ?? 'auto') === 'auto') {
    const made = await OnnxDenseStepper.create(options.head, optimizer, numClasses);
    if ('stepper' in made) return { stepper: made.stepper, engine: 'onnxruntime', reason: null, path };
    reason = made.reason;
  }
  return { stepper: new DenseStepper(options.head, optimizer, numClasses), engine: 'tfjs', reason, path };
}

/** mulberry32: small, fast, seedable. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffled(n: number, rand: () => number): Int32Array {
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = idx[i] as number;
    idx[i] = idx[j] as number;
    idx[j] = t;
  }
  return idx;
}

/** 'balanced' = n / (k · count_c), as in scikit-learn; classes absent from train get weight 0. */
export function computeClassWeights(y: ArrayLike<number>, numClasses: number, mode: 'none' | 'balanced'): number[] {
  if (mode === 'none') return new Array<number>(numClasses).fill(1);
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < y.length; i++) counts[y[i] as number]!++;
  const present = counts.filter((c) => c > 0).length;
  return counts.map((c) => (c > 0 ? y.length / (present * c) : 0));
}

export function learningRateAt(schedule: Schedule, base: number, epoch: number, epochs: number): number {
  if (schedule === 'cosine') return base * 0.5 * (1 + Math.cos((Math.PI * epoch) / Math.max(1, epochs)));
  if (schedule === 'step') return base * 0.1 ** Math.floor(epoch / Math.max(1, Math.ceil(epochs / 3)));
  return base;
}

function validate(set: LabeledArray, numClasses: number, what: string): void {
  const per = set.shape.reduce((a, b) => a * b, 1);
  if (set.x.length !== set.y.length * per) throw new Error(`${what}: x has ${set.x.length} values, expected ${set.y.length}×${per}`);
  for (let i = 0; i < set.y.length; i++) {
    const c = set.y[i] as number;
    if (!(Number.isInteger(c) && c >= 0 && c < numClasses)) throw new Error(`${what}: label ${c} of item ${i} is outside 0..${numClasses - 1}`);
  }
}

/** Weighted mean cross-entropy and accuracy of probabilities against labels (weights per class). */
function scoreProbs(p: Float32Array, y: ArrayLike<number>, k: number, weights: number[]): { loss: number; acc: number } {
  const { loss, hits } = scoreBatch(p, y, Array.from(y, (c) => weights[c] as number), k);
  return { loss, acc: hits / Math.max(1, y.length) };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * The frozen blocks' output for the train and val maps, run once for the staged head-only epochs
 * (the blocks do not change before fine-tuning starts), or null when it would exceed `maxBytes`.
 */
async function blockOutputsForHead(
  stepper: OnnxFinetuneStepper,
  train: LabeledArray,
  val: LabeledArray | null,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<{ train: LabeledArray; val: LabeledArray | null } | null> {
  const shape = stepper.blockOutputShape;
  const per = shape.reduce((a, b) => a * b, 1);
  const rows = train.y.length + (val?.y.length ?? 0);
  if (rows * per * 4 > maxBytes) return null;
  const of = async (set: LabeledArray): Promise<LabeledArray> => ({ x: await stepper.blockOutputs(set.x, set.y.length, signal), shape, y: set.y });
  return { train: await of(train), val: val ? await of(val) : null };
}

/**
 * Custom training loop: seeded shuffling, lr schedule, class-weighted cross-entropy, early stopping
 * on val loss (train loss without a val split), best-epoch restore, optional staged fine-tuning.
 * A head on pooled vectors trains on the fast dense path; anything convolutional uses autodiff.
 */
export async function trainClassifier(options: TrainOptions): Promise<TrainResult> {
  const started = Date.now();
  const { head, numClasses, train } = options;
  const trainable = options.trainable ?? null;
  const epochs = Math.max(1, Math.floor(options.epochs ?? 30));
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 32));
  const baseLr = options.learningRate ?? 1e-3;
  const schedule = options.schedule ?? 'cosine';
  const patience = Math.max(1, options.patience ?? 5);
  const earlyStopping = options.earlyStopping ?? true;
  const restoreBest = options.restoreBest ?? true;
  const rand = seededRandom(options.seed ?? 42);

  const n = train.y.length;
  if (n === 0) throw new Error('train: the training split is empty');
  validate(train, numClasses, 'train');
  const val = options.val && options.val.y.length > 0 ? options.val : null;
  if (val) validate(val, numClasses, 'val');
  const classWeights = computeClassWeights(train.y, numClasses, options.classWeights ?? 'balanced');
  const wanted: TrainResult['path'] = trainable
    ? isSpatialHead(head) && train.shape.length === 3
      ? 'finetune'
      : 'autodiff'
    : train.shape.length === 1
      ? 'dense'
      : isSpatialHead(head)
        ? 'spatial'
        : 'autodiff';
  const { stepper, engine: stepEngine, reason: stepFallbackReason, path } = await makeStepper(options, wanted, numClasses);
  const staged = trainable && options.staged ? options.staged : null;
  const headEpochs = staged ? Math.min(Math.max(0, Math.floor(staged.headEpochs)), epochs - 1) : 0;
  // Head-only epochs of a staged run on the ONNX path train on the blocks' output, computed once.
  let headMaps =
    headEpochs > 0 && stepper instanceof OnnxFinetuneStepper
      ? await blockOutputsForHead(stepper, train, val, options.blockOutputCacheBytes ?? BLOCK_OUTPUT_CACHE_BYTES, options.signal)
      : null;
  if (headMaps && stepper instanceof OnnxFinetuneStepper) stepper.useBlockOutputs(true);
  const sizeOf = (set: LabeledArray) => set.shape.reduce((a, b) => a * b, 1);
  const batches = Math.ceil(n / batchSize);
  const batchEvery = options.batchEventsPerEpoch ? Math.max(1, Math.ceil(batches / options.batchEventsPerEpoch)) : 1;
  const history: EpochLog[] = [];
  let best = { loss: Infinity, epoch: 0 };
  let bestSnapshot: unknown = null;
  let sinceBest = 0;
  let stoppedEarly = false;
  let phaseNow: EpochLog['phase'] | null = null;
  const dropSnapshot = () => {
    if (bestSnapshot && stepper instanceof AutodiffStepper) stepper.disposeSnapshot(bestSnapshot);
    bestSnapshot = null;
  };
  const xb = new Float32Array(batchSize * Math.max(sizeOf(train), headMaps ? sizeOf(headMaps.train) : 0));
  const yb = new Int32Array(batchSize);
  const wb = new Float32Array(batchSize);
  try {
    for (let epoch = 0; epoch < epochs; epoch++) {
      const phase: EpochLog['phase'] = staged ? (epoch < headEpochs ? 'head' : 'finetune') : 'train';
      // Each phase gets its own lr curve: the schedule restarts when fine-tuning starts.
      const phaseStart = phase === 'finetune' ? headEpochs : 0;
      const phaseLen = phase === 'head' ? headEpochs : epochs - phaseStart;
      const lr =
        learningRateAt(schedule, baseLr, epoch - phaseStart, phaseLen) * (phase === 'finetune' ? (staged?.fineTuneLrFactor ?? 1) : 1);
      if (phaseNow !== phase) {
        stepper.resetOptimizer();
        if (phase !== 'head' && headMaps && stepper instanceof OnnxFinetuneStepper) {
          // Fine-tuning changes the blocks: back to boundary maps, and the blocks' output can go.
          stepper.useBlockOutputs(false);
          headMaps = null;
        }
        if (phase === 'finetune') {
          best = { loss: Infinity, epoch: best.epoch };
          sinceBest = 0;
        }
        phaseNow = phase;
      }
      const source = phase === 'head' && headMaps ? headMaps.train : train;
      const valSource = phase === 'head' && headMaps ? headMaps.val : val;
      const per = sizeOf(source);
      const order = shuffled(n, rand);
      let lossSum = 0;
      let correct = 0;
      for (let b = 0; b < batches; b++) {
        if (options.signal?.aborted) throw new AbortError();
        const s = b * batchSize;
        const rows = Math.min(n, s + batchSize) - s;
        // Gather the batch on the JS side: one upload instead of a gather kernel per batch.
        for (let r = 0; r < rows; r++) {
          const i = order[s + r] as number;
          xb.set(source.x.subarray(i * per, (i + 1) * per), r * per);
          const c = train.y[i] as number;
          yb[r] = c;
          wb[r] = classWeights[c] as number;
        }
        const { loss, hits } = await stepper.step(
          xb.subarray(0, rows * per),
          yb.subarray(0, rows),
          wb.subarray(0, rows),
          lr,
          rand,
          phase,
        );
        if (!Number.isFinite(loss)) throw new Error(`train: loss became ${loss} at epoch ${epoch + 1} — lower the learning rate`);
        lossSum += loss * rows;
        correct += hits;
        if (options.onBatch && (b % batchEvery === 0 || b === batches - 1)) {
          const done = epoch * batches + b + 1;
          const elapsed = Date.now() - started;
          options.onBatch({ epoch: epoch + 1, batch: b + 1, batches, loss, etaMs: Math.round((elapsed / done) * (epochs * batches - done)) });
          // Let the event just emitted leave (socket writes, progress) instead of waiting for the epoch's end.
          if (path !== 'autodiff') await tick();
        }
        if (path === 'autodiff') await tick();
      }
      const valScore = valSource ? scoreProbs(await stepper.predict(valSource.x, valSource.y.length), valSource.y, numClasses, classWeights) : null;
      const log: EpochLog = {
        epoch: epoch + 1,
        loss: lossSum / n,
        acc: correct / n,
        valLoss: valScore ? valScore.loss : null,
        valAcc: valScore ? valScore.acc : null,
        lr,
        phase,
      };
      history.push(log);
      const monitored = valScore ? valScore.loss : log.loss;
      if (monitored < best.loss - 1e-6) {
        best = { loss: monitored, epoch: epoch + 1 };
        sinceBest = 0;
        if (restoreBest) {
          dropSnapshot();
          bestSnapshot = stepper.snapshot();
        }
      } else sinceBest++;
      const elapsed = Date.now() - started;
      options.onEpoch?.({ ...log, epochs, etaMs: Math.round((elapsed / (epoch + 1)) * (epochs - epoch - 1)) });
      await tick();
      if (earlyStopping && sinceBest >= patience && phase !== 'head') {
        stoppedEarly = epoch + 1 < epochs;
        break;
      }
    }
    if (stepper instanceof OnnxFinetuneStepper) stepper.useBlockOutputs(false);
    let bestEpoch = history.length;
    if (restoreBest && bestSnapshot && best.epoch > 0) {
      stepper.restore(bestSnapshot);
      bestEpoch = best.epoch;
    }
    stepper.finish();
    return { head, trainable, history, bestEpoch, stoppedEarly, durationMs: Date.now() - started, classWeights, path, stepEngine, stepFallbackReason };
  } finally {
    dropSnapshot();
    stepper.dispose();
  }
}
