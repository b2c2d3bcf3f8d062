import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { augmentRgbView } from '../data/augment/augment.ts';
import { type AugmentPolicy, augmentationSignature, normalizeAugmentPolicy } from '../data/augment/policy.ts';
import type { DatasetItem, DatasetManifest } from '../data/dataset/types.ts';
import { readImagesBatch } from '../data/image-io.ts';
import { createRng, hashSeed } from '../data/rng.ts';
import { type Backbone, type FrozenBackbone, freezeBackbone, isFrozenBackbone, modelFromTopology } from './backbone.ts';
import { copyWeightsByLayerName } from './weights.ts';
import {
  AbortError,
  type CachedFeatures,
  type FeatureCache,
  type ImageSource,
  type Pooling,
  extractFeatures,
  featureCacheKey,
} from './features.ts';
import { type HeadSpec, buildHead } from './head.ts';
import { headForward } from './stepper.ts';
import { type EpochLog, type TrainParams, trainClassifier } from './train.ts';

export type { TrainParams } from './train.ts';

/** Everything needed to predict, evaluate and export after training. */
export interface TrainedClassifier {
  backbone: FrozenBackbone;
  /** Trained head: input is pooled vectors when `pooled`, else the backbone's feature map. */
  head: tf.LayersModel;
  trainable: tf.LayersModel | null;
  headSpec: Required<HeadSpec>;
  /** The head was trained on pooled vectors cached at the boundary (nothing convolutional trained). */
  pooled: boolean;
  classes: string[];
  history: EpochLog[];
  bestEpoch: number;
  stoppedEarly: boolean;
  durationMs: number;
  trainPath: 'dense' | 'autodiff';
  /** What ran the training steps (TrainResult.stepEngine). */
  stepEngine: 'onnxruntime' | 'tfjs';
  /** Training set size including augmented views. */
  trainViews: number;
}

export type ProgressFn = (phase: string, done: number, total: number, etaMs?: number) => void

export interface FeatureOptions {
  cache?: FeatureCache | null;
  /** Key part identifying the dataset contents (DatasetManifest.signature). */
  datasetSignature: string;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  log?: (message: string) => void;
}

type AugmentView = { policy: AugmentPolicy; view: number };

function viewCacheKey(backbone: FrozenBackbone, items: DatasetItem[], pool: Pooling | null, datasetSignature: string, augment: AugmentView | null): string {
  return featureCacheKey({
    v: 1,
    dataset: datasetSignature,
    ids: createHash('sha1').update(items.map((i) => i.id).join('\n')).digest('hex'),
    augment: augment ? `${augmentationSignature(augment.policy)}#${augment.view}` : 'none',
    backbone: backbone.signature,
    boundary: backbone.boundary,
    pool,
  });
}

/**
 * Several views of the same items (views[v] null = the image as stored) as one source, item-major:
 * row j·m + v is view v of item j. Each image is decoded once for all its views (decoding costs
 * as much as augmenting), including an item whose views straddle two batches.
 */
function multiViewSource(items: DatasetItem[], size: number, views: (AugmentView | null)[]): ImageSource {
  const m = views.length;
  let carried: { index: number; data: Float32Array } | null = null;
  return {
    count: items.length * m,
    async load(start, end, signal) {
      const first = Math.floor(start / m);
      const last = Math.floor((end - 1) / m);
      const decoded = new Map<number, Float32Array>();
      if (carried && carried.index === first) decoded.set(first, carried.data);
      const todo = items.slice(first, last + 1).map((item, k) => ({ item, index: first + k })).filter((t) => !decoded.has(t.index));
      const { images, failures } = await readImagesBatch(
        todo.map((t) => t.item.path),
        size,
        { signal, describeSource: false },
      );
      if (failures.length) throw new Error(`cannot read image ${failures[0]?.path}: ${failures[0]?.reason}`);
      images.forEach((img, k) => {
        decoded.set((todo[k] as { index: number }).index, img.data);
      });
      const lastData = decoded.get(last);
      carried = lastData ? { index: last, data: lastData } : null;
      const out: Float32Array[] = [];
      for (let i = start; i < end; i++) {
        const j = Math.floor(i / m);
        const augment = views[i % m] ?? null;
        const data = decoded.get(j) as Float32Array;
        if (!augment) {
          out.push(data);
          continue;
        }
        const item = items[j] as DatasetItem;
        const rng = createRng(hashSeed(augment.policy.seed, item.id, augment.view));
        out.push(augmentRgbView(data, size, augment.policy, rng));
      }
      return out;
    },
  };
}

/** Images from disk at the backbone's input size; `augment` turns each into a seeded random view. */
export function imageSourceFromItems(items: DatasetItem[], size: number, augment?: AugmentView | null): ImageSource {
  return multiViewSource(items, size, [augment ?? null]);
}

/**
 * Boundary activations for views of the same items (null = the images as stored, or augmented
 * views), each cached under its own key: what is cached is read, and the missing views are
 * computed together in one pass that decodes each image once.
 */
export async function boundaryFeatureViews(
  backbone: FrozenBackbone,
  items: DatasetItem[],
  pool: Pooling | null,
  views: (AugmentView | null)[],
  options: FeatureOptions & { phase?: string },
): Promise<CachedFeatures[]> {
  const keys = views.map((v) => viewCacheKey(backbone, items, pool, options.datasetSignature, v));
  const cache = options.cache;
  // Claimed synchronously, so of two concurrent callers only one extracts a view; the other waits.
  const claims = keys.map((k) => cache?.claim(k) ?? null);
  try {
    const result: (CachedFeatures | null)[] = await Promise.all(
      keys.map(async (k, i) => (claims[i] ? await cache?.get(k) : await cache?.awaitPending(k)) ?? null),
    );
    result.forEach((hit, v) => {
      if (!hit) return;
      claims[v]?.settle(hit);
      const what = views[v] ? `augmented view ${(views[v] as AugmentView).view + 1}` : 'plain';
      options.log?.(`features: reused ${hit.n} cached ${options.phase ?? ''} (${what}) activations at ${backbone.boundary}`);
    });
    const missing = views.map((v, i) => ({ v, i })).filter(({ i }) => !result[i]);
    if (missing.length) {
      const m = missing.length;
      const features = await extractFeatures(backbone.frozen, multiViewSource(items, backbone.inputSize, missing.map((x) => x.v)), {
        batchSize: options.batchSize,
        pool,
        signal: options.signal,
        log: options.log,
        onProgress: (done, total, eta) => options.onProgress?.(options.phase ?? 'features', done, total, eta),
      });
      const per = features.shape.reduce((a, b) => a * b, 1);
      for (const [k, { i }] of missing.entries()) {
        // Rows of view k: k, k + m, k + 2m, …
        const data = new Float32Array(items.length * per);
        for (let j = 0; j < items.length; j++) data.set(features.data.subarray((j * m + k) * per, (j * m + k + 1) * per), j * per);
        const value: CachedFeatures = { data, n: items.length, shape: features.shape, engine: features.engine, ids: items.map((x) => x.id), labels: items.map((x) => x.label) };
        await cache?.set(keys[i] as string, value);
        claims[i]?.settle(value);
        result[i] = value;
      }
    }
    return result as CachedFeatures[];
  } finally {
    // Whatever was not settled (an error, a cancel) is released: a waiter then computes it itself.
    for (const c of claims) c?.settle(null);
  }
}

/** Boundary activations for items (optionally one augmented view), from the cache or computed once. */
export async function boundaryFeatures(
  backbone: FrozenBackbone,
  items: DatasetItem[],
  pool: Pooling | null,
  options: FeatureOptions & { augment?: AugmentView | null; phase?: string },
): Promise<CachedFeatures> {
  const [features] = await boundaryFeatureViews(backbone, items, pool, [options.augment ?? null], options);
  return features as CachedFeatures;
}

function concatFeatures(parts: CachedFeatures[]): { x: Float32Array; y: number[]; shape: number[] } {
  const total = parts.reduce((a, p) => a + p.data.length, 0);
  const x = new Float32Array(total);
  let offset = 0;
  const y: number[] = [];
  for (const p of parts) {
    x.set(p.data, offset);
    offset += p.data.length;
    y.push(...(p.labels ?? []));
  }
  return { x, y, shape: parts[0]?.shape ?? [] };
}

export interface TrainOnDatasetOptions extends TrainParams {
  manifest: DatasetManifest;
  augmentation?: Partial<AugmentPolicy> | null;
  backbone: Backbone | FrozenBackbone;
  headSpec?: HeadSpec;
  cache?: FeatureCache | null;
  signal?: AbortSignal;
  onProgress?: ProgressFn;
  onEpoch?: Parameters<typeof trainClassifier>[0]['onEpoch'];
  onBatch?: Parameters<typeof trainClassifier>[0]['onBatch'];
  batchEvery?: number;
  log?: (message: string) => void;
  /**
   * Extract this split's features into the cache while the head trains (the train node passes
   * 'test': evaluation usually comes next, and training leaves a core idle). Needs `cache`.
   */
  prefetchSplit?: 'test' | 'val' | null;
}

/**
 * dataset → frozen features (cached) → head (+ trainable blocks) training. Nothing convolutional
 * trained → features are pooled before caching and the head trains on small vectors.
 */
export async function trainOnDataset(options: TrainOnDatasetOptions): Promise<TrainedClassifier> {
  const { manifest } = options;
  const backbone = isFrozenBackbone(options.backbone) ? options.backbone : await freezeBackbone(options.backbone, { mode: 'all' });
  const headSpec: Required<HeadSpec> = { pooling: 'avg', hidden: 128, dropout: 0.2, ...options.headSpec };
  const trainItems = manifest.items.filter((i) => i.split === 'train');
  const valItems = manifest.items.filter((i) => i.split === 'val');
  if (trainItems.length === 0) throw new Error(`dataset ${manifest.root} has no training images`);
  const pool = backbone.trainable ? null : headSpec.pooling;
  const policy = options.augmentation ? normalizeAugmentPolicy(options.augmentation) : null;
  const common: FeatureOptions = {
    cache: options.cache,
    datasetSignature: manifest.signature,
    signal: options.signal,
    onProgress: options.onProgress,
    log: options.log,
  };
  const views: (AugmentView | null)[] = [null, ...Array.from({ length: policy?.copies ?? 0 }, (_, view) => (policy ? { policy, view } : null))];
  // The plain images and every augmented view in one pass: each training image is decoded once.
  const phase = views.length > 1 ? `features:train + ${views.length - 1} augmented view${views.length > 2 ? 's' : ''}` : 'features:train';
  const parts = await boundaryFeatureViews(backbone, trainItems, pool, views, { ...common, phase });
  const val = valItems.length ? await boundaryFeatures(backbone, valItems, pool, { ...common, phase: 'features:val' }) : null;
  const prefetchItems = options.prefetchSplit && options.cache ? manifest.items.filter((i) => i.split === options.prefetchSplit) : [];
  if (prefetchItems.length && options.prefetchSplit !== 'val') {
    options.log?.(`features: extracting ${prefetchItems.length} ${options.prefetchSplit} images while the head trains`);
    // Not awaited: the evaluate node picks the result up from the cache (or waits for it there).
    void boundaryFeatures(backbone, prefetchItems, pool, { ...common, onProgress: undefined, log: undefined, phase: `features:${options.prefetchSplit}` }).catch(() => {});
  }
  const train = concatFeatures(parts);
  const head = buildHead({
    ...headSpec,
    numClasses: manifest.classes.length,
    inputShape: pool ? train.shape : backbone.outputShape,
    seed: options.seed ?? 42,
  });
  if (options.signal?.aborted) throw new AbortError();
  // Train a copy of the unfrozen blocks: the Backbone port value may be reused by another run.
  let trainable: tf.LayersModel | null = null;
  if (backbone.trainable && backbone.trainableTopology) {
    trainable = await modelFromTopology(backbone.trainableTopology);
    copyWeightsByLayerName(trainable, [backbone.trainable]);
  }
  const result = await trainClassifier({
    head,
    trainable,
    train: { x: train.x, shape: train.shape, y: train.y },
    val: val ? { x: val.data, shape: val.shape, y: val.labels ?? [] } : null,
    numClasses: manifest.classes.length,
    optimizer: options.optimizer,
    learningRate: options.learningRate,
    schedule: options.schedule,
    batchSize: options.batchSize,
    epochs: options.epochs,
    earlyStopping: options.earlyStopping,
    patience: options.patience,
    classWeights: options.classWeights,
    restoreBest: options.restoreBest,
    seed: options.seed,
    staged: backbone.staged,
    onEpoch: options.onEpoch,
    onBatch: options.onBatch,
    batchEvery: options.batchEvery,
    signal: options.signal,
  });
  options.log?.(
    `training: ${result.path} path on ${result.path === 'dense' && result.stepEngine === 'onnxruntime' ? 'onnxruntime (gradients) + wasm SIMD (optimizer)' : `tfjs ${tf.getBackend()}`}` +
      `${result.stepFallbackReason ? ` (ONNX Runtime not used: ${result.stepFallbackReason})` : ''}, ${result.history.length} epochs in ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  return {
    backbone,
    head,
    trainable,
    headSpec,
    pooled: pool !== null,
    classes: manifest.classes,
    history: result.history,
    bestEpoch: result.bestEpoch,
    stoppedEarly: result.stoppedEarly,
    durationMs: result.durationMs,
    trainPath: result.path,
    stepEngine: result.stepEngine,
    trainViews: train.y.length,
  };
}

/** rows × classes probabilities for a feature array computed at the trained model's boundary. */
export function probsFromFeatures(trained: TrainedClassifier, features: { data: Float32Array; n: number; shape: number[] }): Float32Array {
  const k = trained.classes.length;
  const out = new Float32Array(features.n * k);
  const per = features.shape.reduce((a, b) => a * b, 1);
  const chunk = trained.trainable ? 16 : 1024;
  for (let s = 0; s < features.n; s += chunk) {
    const e = Math.min(features.n, s + chunk);
    const p = tf.tidy(() => {
      const x = tf.tensor(features.data.subarray(s * per, e * per), [e - s, ...features.shape]);
      const feats = trained.trainable ? (trained.trainable.apply(x) as tf.Tensor) : x;
      return headForward(trained.head, feats, false).dataSync();
    });
    out.set(p, s * k);
  }
  return out;
}

/** Probabilities for dataset items (features cached like training's). */
export async function predictItems(trained: TrainedClassifier, items: DatasetItem[], options: FeatureOptions): Promise<Float32Array> {
  const pool = trained.pooled ? trained.headSpec.pooling : null;
  const features = await boundaryFeatures(trained.backbone, items, pool, { ...options, phase: options.log ? 'features:eval' : 'features' });
  return probsFromFeatures(trained, features);
}

/** Frees the trained model's own tensors (the backbone belongs to whoever loaded it). */
export function disposeTrained(trained: TrainedClassifier): void {
  trained.head.dispose();
  trained.trainable?.dispose();
}
