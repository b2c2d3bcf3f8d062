import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { augmentRgbView } from '../data/augment/augment.ts';
import { type AugmentPolicy, augmentationSignature, normalizeAugmentPolicy } from '../data/augment/policy.ts';
import type { DatasetItem, DatasetManifest } from '../data/dataset/types.ts';
import { type FitSpec, STRETCH, augmentTiledView } from '../data/fit.ts';
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
  type SkippedImage,
  extractFeatures,
  featureCacheKey,
} from './features.ts';
import { checkSkippedImages } from './unreadable.ts';
import { type DriftReference, fitDriftReference } from './drift.ts';
import { type ChannelProjection, SPATIAL_PROJECTION_DIMS, fitChannelProjection, projectChannels } from './channel-projection.ts';
import { type HeadSpec, buildHead } from './head.ts';
import { isOnnxRuntimeAvailable } from '../onnx/runtime.ts';
import { OnnxFinetuneStepper } from './finetune-stepper.ts';
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
  trainPath: 'dense' | 'spatial' | 'finetune' | 'autodiff';
  /** What ran the training steps (TrainResult.stepEngine). */
  stepEngine: 'onnxruntime' | 'tfjs';
  /** Training set size including augmented views. */
  trainViews: number;
  /** Feature views (train, augmented, small-class and val) read from the feature cache vs extracted by the backbone. */
  featureViews: FeatureViewCounts;
  /** The training set's pooled boundary features and the drift threshold from the validation split (null if it failed). */
  drift?: DriftReference | null;
}

/** How many feature views a call read from the cache (or from a concurrent caller's extraction) and how many it extracted. */
export interface FeatureViewCounts {
  cached: number;
  extracted: number;
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
  /**
   * Return before new entries reach the disk (they are readable from the cache at once); the
   * caller then awaits `cache.flush()`. trainOnDataset does, so writing the maps overlaps training.
   * Default: written before returning.
   */
  writeBehind?: boolean;
  /** The run using the cache (its id): entries this call reads or writes stay on disk until `cache.release(owner)`. */
  cacheOwner?: string;
  /** Images over this many pixels do not decode (default IMAGE_MAX_PIXELS). */
  maxPixels?: number;
  /** Warnings (images skipped because they did not decode); default: `log`. */
  warn?: (message: string) => void;
  /** Counts the views read vs extracted (a sweep reports which trials reused the cache). */
  counts?: FeatureViewCounts;
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
 * as much as augmenting), including an item whose views straddle two batches. With fit 'tiles' a
 * row holds the image's tiles back to back, each augmented with the same draws.
 */
function multiViewSource(
  items: DatasetItem[],
  size: number,
  views: (AugmentView | null)[],
  fit: FitSpec = STRETCH,
  decode: { maxPixels?: number; skipped?: Map<number, SkippedImage> } = {},
): ImageSource {
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
        { signal, describeSource: false, layout: fit, maxPixels: decode.maxPixels },
      );
      if (failures.length && !decode.skipped) throw new Error(`cannot read image ${failures[0]?.path}: ${failures[0]?.reason}`);
      for (const img of images) decoded.set((todo[img.index] as { index: number }).index, img.data);
      // A file that no longer decodes stands in as black and is recorded: its rows are dropped after extraction.
      const reasons = new Map(failures.map((f) => [f.path, f.reason]));
      for (const t of todo) {
        const reason = reasons.get(t.item.path);
        if (reason === undefined) continue;
        decode.skipped?.set(t.index, { id: t.item.id, path: t.item.path, reason });
        decoded.set(t.index, new Float32Array(size * size * 3));
      }
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
        const seed = hashSeed(augment.policy.seed, item.id, augment.view);
        out.push(data.length === size * size * 3 ? augmentRgbView(data, size, augment.policy, createRng(seed)) : augmentTiledView(data, size, augment.policy, seed));
      }
      return out;
    },
  };
}

/** Images from disk at the backbone's input size and fit; `augment` turns each into a seeded random view. */
export function imageSourceFromItems(items: DatasetItem[], size: number, augment?: AugmentView | null, fit: FitSpec = STRETCH): ImageSource {
  return multiViewSource(items, size, [augment ?? null], fit);
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
  if (options.cacheOwner) cache?.pin(options.cacheOwner, keys);
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
    if (options.counts) {
      options.counts.cached += views.length - missing.length;
      options.counts.extracted += missing.length;
    }
    if (missing.length) {
      const m = missing.length;
      const fit = backbone.fit ?? STRETCH;
      const skipped = new Map<number, SkippedImage>();
      const source = multiViewSource(items, backbone.inputSize, missing.map((x) => x.v), fit, { maxPixels: options.maxPixels, skipped });
      const features = await extractFeatures(backbone.frozen, source, {
        batchSize: options.batchSize,
        pool,
        tiles: fit.fit === 'tiles',
        views: m,
        signal: options.signal,
        log: options.log,
        onProgress: (done, total, eta) => options.onProgress?.(options.phase ?? 'features', done, total, eta),
      });
      const dropped = [...skipped.keys()].sort((a, b) => a - b);
      const kept = dropped.length ? items.filter((_x, j) => !skipped.has(j)) : items;
      const per = features.shape.reduce((a, b) => a * b, 1);
      for (const [k, { i }] of missing.entries()) {
        const all = features.views?.[k] ?? features.data;
        const data = dropped.length ? dropRows(all, per, skipped) : all;
        const value: CachedFeatures = {
          data,
          n: kept.length,
          shape: features.shape,
          engine: features.engine,
          ids: kept.map((x) => x.id),
          labels: kept.map((x) => x.label),
          ...(dropped.length ? { skipped: dropped.map((j) => skipped.get(j) as SkippedImage) } : {}),
        };
        // A failed write (disk full) costs the cache entry, not the run.
        const written = cache
          ?.set(keys[i] as string, value)
          .catch((err) => options.log?.(`features: could not write the feature cache (${err instanceof Error ? err.message : String(err)}); continuing without it`));
        if (!options.writeBehind) await written;
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

/** `data` without the rows of `skip` (rows of `per` floats). */
function dropRows(data: Float32Array, per: number, skip: ReadonlyMap<number, unknown>): Float32Array {
  const n = data.length / per;
  const out = new Float32Array((n - skip.size) * per);
  let at = 0;
  for (let j = 0; j < n; j++) {
    if (skip.has(j)) continue;
    out.set(data.subarray(j * per, (j + 1) * per), at);
    at += per;
  }
  return out;
}

/**
 * Boundary activations for items (optionally one augmented view), from the cache or computed once.
 * Images that do not decode have no row: `skipped` lists them (checkSkippedImages decides whether
 * that is tolerable).
 */
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
  batchEventsPerEpoch?: number;
  /** Extra augmented views for classes under MIN_VIEWS_PER_CLASS training views (default true). */
  smallClassViews?: boolean;
  log?: (message: string) => void;
  /** Warnings (images skipped because they did not decode); default: `log`. */
  warn?: (message: string) => void;
  /** See FeatureOptions.cacheOwner. */
  cacheOwner?: string;
  /** Images over this many pixels do not decode (default IMAGE_MAX_PIXELS). */
  maxPixels?: number;
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
  const headSpec: Required<HeadSpec> = { kind: 'dense', filters: 64, pooling: 'avg', hidden: 128, dropout: 0.2, ...options.headSpec };
  const trainItems = manifest.items.filter((i) => i.split === 'train');
  const valItems = manifest.items.filter((i) => i.split === 'val');
  if (trainItems.length === 0) throw new Error(`dataset ${manifest.root} has no training images`);
  // A spatial head convolves the map before pooling: it trains on the maps themselves.
  const pool = backbone.trainable || headSpec.kind === 'spatial' ? null : headSpec.pooling;
  const policy = options.augmentation ? normalizeAugmentPolicy(options.augmentation) : null;
  const warn = options.warn ?? options.log;
  const featureViews: FeatureViewCounts = { cached: 0, extracted: 0 };
  const common: FeatureOptions = {
    counts: featureViews,
    cache: options.cache,
    datasetSignature: manifest.signature,
    signal: options.signal,
    onProgress: options.onProgress,
    log: options.log,
    cacheOwner: options.cacheOwner,
    maxPixels: options.maxPixels,
    // Flushed before returning: the disk writes of the train and val maps overlap training.
    writeBehind: true,
  };
  const views: (AugmentView | null)[] = [null, ...Array.from({ length: policy?.copies ?? 0 }, (_, view) => (policy ? { policy, view } : null))];
  // The plain images and every augmented view in one pass: each training image is decoded once.
  const phase = views.length > 1 ? `features:train + ${views.length - 1} augmented view${views.length > 2 ? 's' : ''}` : 'features:train';
  let parts: CachedFeatures[] | null = await boundaryFeatureViews(backbone, trainItems, pool, views, { ...common, phase });
  // Images that stopped decoding since the dataset check are skipped (views computed together lack the same rows).
  const skippedTrain = new Map(parts.flatMap((p) => p.skipped ?? []).map((x) => [x.id, x]));
  checkSkippedImages(trainItems, [...skippedTrain.values()], manifest.classes, 'train', warn);
  if (options.smallClassViews !== false) parts.push(...(await smallClassViews(backbone, trainItems, manifest.classes, pool, policy, common)));
  const val = valItems.length ? await boundaryFeatures(backbone, valItems, pool, { ...common, phase: 'features:val' }) : null;
  if (val) checkSkippedImages(valItems, val.skipped, manifest.classes, 'val', warn);
  const prefetchItems = options.prefetchSplit && options.cache ? manifest.items.filter((i) => i.split === options.prefetchSplit) : [];
  if (prefetchItems.length && options.prefetchSplit !== 'val') {
    options.log?.(`features: extracting ${prefetchItems.length} ${options.prefetchSplit} images while the head trains`);
    // Not awaited: the evaluate node picks the result up from the cache (or waits for it there).
    void boundaryFeatures(backbone, prefetchItems, pool, { ...common, counts: undefined, onProgress: undefined, log: undefined, writeBehind: false, phase: `features:${options.prefetchSplit}` }).catch(() => {});
  }
  const drift = driftReferenceOf(parts[0] as CachedFeatures, val, manifest.classes, backbone, pool, options);
  const projected = await projectForSpatialHead(parts, val, headSpec, backbone, options);
  const train = projected?.train ?? concatFeatures(parts);
  // Full-size maps are not needed once projected or concatenated: let them go before training.
  parts = null;
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
    val: projected?.val ?? (val ? { x: val.data, shape: val.shape, y: val.labels ?? [] } : null),
    channelProjection: projected?.projection ?? null,
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
    batchEventsPerEpoch: options.batchEventsPerEpoch,
    signal: options.signal,
  });
  // The maps' disk writes overlapped training; nothing of this call keeps running after it returns.
  await options.cache?.flush();
  options.log?.(
    `training: ${result.path} path on ${result.stepEngine === 'onnxruntime' ? 'onnxruntime (gradients) + wasm SIMD (optimizer)' : `tfjs ${tf.getBackend()}`}` +
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
    featureViews,
    drift,
  };
}

/**
 * The drift reference from features training computed anyway (the plain training images and the validation
 * split at the boundary): no extra backbone pass. A failure costs the drift score, never the training.
 */
function driftReferenceOf(
  train: CachedFeatures,
  val: CachedFeatures | null,
  classes: string[],
  backbone: FrozenBackbone,
  pool: Pooling | null,
  options: TrainOnDatasetOptions,
): DriftReference | null {
  try {
    const ref = fitDriftReference({ train, val, classes, layer: backbone.boundary, pooling: pool ?? 'avg', seed: options.seed });
    options.log?.(
      `drift: ${ref.references} reference vectors of ${ref.dims} values; threshold ${ref.threshold.toFixed(4)} (${Math.round(ref.percentile * 100)}th percentile of ${ref.calibration.count} ${ref.calibration.split} images)`,
    );
    return ref;
  } catch (err) {
    options.log?.(`drift: no drift reference (${err instanceof Error ? err.message : String(err)})`);
    return null;
  }
}

/**
 * Training views every class should reach: a class with fewer (few-shot, or a rare defect) gets
 * extra augmented views of its images, up to MAX_EXTRA_VIEWS each. Measured on the synthetic sets
 * (BENCHMARKS §8): with 10 images per class, steel went from 0.896 test accuracy at 100 views to
 * 0.933 at 200 (0.74 with no extra views); the small-defects set stayed ≥ 0.97 with all images.
 */
export const MIN_VIEWS_PER_CLASS = 200;
const MAX_EXTRA_VIEWS = 15;

/**
 * Extra augmented views (beyond the policy's copies) of the training images of small classes,
 * cached like any view. Unweighted, they also oversample those classes; with balanced class weights
 * each class's weight is spread over its views. Without an augmentation policy there is nothing to
 * draw them from: it says so in the log.
 */
async function smallClassViews(
  backbone: FrozenBackbone,
  trainItems: DatasetItem[],
  classes: string[],
  pool: Pooling | null,
  policy: AugmentPolicy | null,
  options: FeatureOptions,
): Promise<CachedFeatures[]> {
  const counts = new Map<number, number>();
  for (const item of trainItems) counts.set(item.label, (counts.get(item.label) ?? 0) + 1);
  const perView = 1 + (policy?.copies ?? 0);
  // Extra views per class, for the classes that need some.
  const extra = new Map<number, number>();
  for (const [label, n] of counts) {
    const want = Math.min(MAX_EXTRA_VIEWS, Math.ceil(MIN_VIEWS_PER_CLASS / n) - perView);
    if (want > 0) extra.set(label, want);
  }
  if (extra.size === 0) return [];
  const described = [...extra].map(([label]) => `${classes[label]} (${counts.get(label)})`).join(', ');
  if (!policy) {
    options.log?.(`small classes: ${described} are under ${MIN_VIEWS_PER_CLASS} training views; with an Augment node, training would add augmented views of them`);
    return [];
  }
  const parts: CachedFeatures[] = [];
  // One pass per distinct count, each image decoded once for all its extra views.
  for (const want of new Set(extra.values())) {
    const labels = [...extra].filter(([, e]) => e === want).map(([label]) => label);
    const items = trainItems.filter((i) => labels.includes(i.label));
    options.log?.(
      `small classes: ${labels.map((l) => `${classes[l]} (${counts.get(l)} images)`).join(', ')} — adding ${want} augmented view${want === 1 ? '' : 's'} of each image (classes under ${MIN_VIEWS_PER_CLASS} training views get up to ${MAX_EXTRA_VIEWS})`,
    );
    const views = Array.from({ length: want }, (_, k) => ({ policy, view: policy.copies + k }));
    parts.push(...(await boundaryFeatureViews(backbone, items, pool, views, { ...options, phase: 'features:small-class views' })));
  }
  return parts;
}

/**
 * For a spatial head trained in ONNX Runtime on a map of more than SPATIAL_PROJECTION_DIMS
 * channels: the train and val maps projected onto their principal channel directions (see
 * channel-projection.ts), or null to train on the maps as they are.
 */
async function projectForSpatialHead(
  parts: CachedFeatures[],
  val: CachedFeatures | null,
  headSpec: Required<HeadSpec>,
  backbone: FrozenBackbone,
  options: TrainOnDatasetOptions,
): Promise<{ train: { x: Float32Array; y: number[]; shape: number[] }; val: { x: Float32Array; shape: number[]; y: number[] } | null; projection: ChannelProjection } | null> {
  const shape = parts[0]?.shape ?? [];
  if (headSpec.kind !== 'spatial' || backbone.trainable || shape.length !== 3) return null;
  const [h, w, channels] = shape as [number, number, number];
  if (channels <= SPATIAL_PROJECTION_DIMS) return null;
  if (!(await isOnnxRuntimeAvailable()).ok) return null;
  const started = Date.now();
  const projection = await fitChannelProjection(
    parts.map((p) => ({ x: p.data, y: p.labels ?? [] })),
    h * w,
    channels,
    SPATIAL_PROJECTION_DIMS,
    options.seed ?? 42,
  );
  const reduced = [h, w, SPATIAL_PROJECTION_DIMS];
  const per = h * w * SPATIAL_PROJECTION_DIMS;
  // Every part projected straight into its place in the one training array.
  const x = new Float32Array(parts.reduce((a, p) => a + p.n, 0) * per);
  const y: number[] = [];
  for (const part of parts) {
    await projectChannels(part.data, projection, options.signal, x.subarray(y.length * per, (y.length + part.n) * per));
    y.push(...(part.labels ?? []));
  }
  const valX = val ? await projectChannels(val.data, projection, options.signal) : null;
  options.log?.(
    `training: spatial head on the ${SPATIAL_PROJECTION_DIMS} principal channel directions of ${channels} (fitted and projected in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );
  return {
    train: { x, y, shape: reduced },
    val: val && valX ? { x: valX, shape: reduced, y: val.labels ?? [] } : null,
    projection,
  };
}

/** rows × classes probabilities for a feature array computed at the trained model's boundary. */
export function probsFromFeatures(trained: TrainedClassifier, features: { data: Float32Array; n: number; shape: number[] }): Float32Array {
  const k = trained.classes.length;
  const out = new Float32Array(features.n * k);
  const per = features.shape.reduce((a, b) => a * b, 1);
  // Feature maps (trainable blocks, spatial head) are large per row: small chunks bound the tensors.
  const chunk = trained.trainable ? 16 : trained.pooled ? 1024 : 64;
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

/**
 * probsFromFeatures for blocks fine-tuned on the ONNX path: their inference graph in ONNX Runtime,
 * built from the TF.js models' weights (faster than the blocks in TF.js wasm; equal within 1e-4). Null where it cannot run: probsFromFeatures then predicts through TF.js.
 */
async function finetunedProbs(trained: TrainedClassifier, features: { data: Float32Array; n: number; shape: number[] }): Promise<Float32Array | null> {
  if (trained.trainPath !== 'finetune' || !trained.trainable || features.shape.length !== 3) return null;
  const made = await OnnxFinetuneStepper.create(trained.head, trained.trainable, 'adam', trained.classes.length, features.shape);
  return 'stepper' in made ? made.stepper.predict(features.data, features.n) : null;
}

/**
 * Probabilities for the dataset items that decode (features cached like training's): `items` and
 * the rows of `probs` are those, in order; `skipped` the ones that did not decode. Throws
 * UnreadableImagesError when too many did (checkSkippedImages; `split` names them in messages).
 */
export async function predictDatasetItems(
  trained: TrainedClassifier,
  items: DatasetItem[],
  options: FeatureOptions & { split?: string },
): Promise<{ items: DatasetItem[]; probs: Float32Array; skipped: SkippedImage[] }> {
  const pool = trained.pooled ? trained.headSpec.pooling : null;
  const features = await boundaryFeatures(trained.backbone, items, pool, { ...options, phase: options.log ? 'features:eval' : 'features' });
  const skipped = features.skipped ?? [];
  checkSkippedImages(items, skipped, trained.classes, options.split ?? 'evaluation', options.warn ?? options.log);
  const gone = new Set(skipped.map((s) => s.id));
  const probs = (await finetunedProbs(trained, features)) ?? probsFromFeatures(trained, features);
  return { items: gone.size ? items.filter((i) => !gone.has(i.id)) : items, probs, skipped };
}

/** Probabilities for dataset items, one row per item that decodes (see predictDatasetItems). */
export async function predictItems(trained: TrainedClassifier, items: DatasetItem[], options: FeatureOptions): Promise<Float32Array> {
  return (await predictDatasetItems(trained, items, options)).probs;
}

/** Frees the trained model's own tensors (the backbone belongs to whoever loaded it). */
export function disposeTrained(trained: TrainedClassifier): void {
  trained.head.dispose();
  trained.trainable?.dispose();
}
