/**
 * Input drift: how far an image's pooled backbone features lie from the training set's.
 *
 * Method: k-nearest-neighbour distance between pooled vectors standardised per channel (the training set's mean
 * and standard deviation), against a stratified sample of at most DRIFT_MAX_REFERENCES training vectors, with the
 * threshold calibrated on the validation split (its DRIFT_PERCENTILE score). Not cosine: a contrast change mostly
 * scales the pooled activations, which unit-length vectors would hide. Why kNN rather than one Mahalanobis distance: the training set is a mixture of
 * class clusters, and a single Gaussian fitted to it covers the space between them, so a new defect type landing
 * there would look normal; kNN follows the clusters' shape, needs no covariance (with fewer images than channels a
 * full covariance is singular anyway) and its calibration is one percentile. Size: (2 + references) × channels
 * float32 — mean, standard deviation, then the references (502 × 576 ≈ 1.1 MiB for the default cut) — stored as
 * drift.bin next to the model.
 */
import { createRng } from '../data/rng.ts';
import type { Pooling } from './features.ts';

export const DRIFT_FILE = 'drift.bin';
export const DRIFT_MAX_REFERENCES = 500;
export const DRIFT_K = 5;
export const DRIFT_PERCENTILE = 0.99;

/** What defectflow.json says about drift.bin (the vectors themselves are in the file). */
export interface DriftReferenceMeta {
  method: 'knn-standardized';
  file: typeof DRIFT_FILE;
  /** The k-th nearest reference's distance (root mean square over the standardised channels) is the score. */
  k: number;
  /** Layer whose output is pooled (the backbone's freeze boundary) and how. */
  layer: string;
  pooling: Pooling;
  /** Length of one pooled vector. */
  dims: number;
  /** Reference rows in drift.bin (after its mean and standard deviation rows). */
  references: number;
  /** A score above this is drifted: the `percentile` of the calibration scores. */
  threshold: number;
  percentile: number;
  /** Which images calibrated the threshold ('val', or 'train' left-one-out when there was no validation split). */
  calibration: { split: 'val' | 'train'; count: number; p50: number; p95: number; p99: number; max: number };
  /** Training images per class (the monitoring page's training mix). */
  classCounts: Record<string, number>;
}

export interface DriftReference extends DriftReferenceMeta {
  /** Per channel, of the training images' pooled vectors. */
  mean: Float32Array;
  std: Float32Array;
  /** references × dims, standardised. */
  vectors: Float32Array;
}

/** Rows of features as computed at the boundary: pooled vectors ([d]) or maps ([h, w, c]). */
export interface FeatureRows {
  data: Float32Array;
  n: number;
  shape: number[];
  labels?: number[];
}

/** One pooled vector per row: maps are average-pooled, pooled rows kept as they are. */
export function pooledVectors(rows: FeatureRows): { vectors: Float32Array; dims: number } {
  const per = rows.shape.reduce((a, b) => a * b, 1);
  const dims = rows.shape.length === 3 ? (rows.shape[2] as number) : per;
  const out = new Float32Array(rows.n * dims);
  for (let j = 0; j < rows.n; j++) {
    const row = rows.data.subarray(j * per, (j + 1) * per);
    const v = out.subarray(j * dims, (j + 1) * dims);
    if (per === dims) v.set(row);
    else {
      const hw = per / dims;
      for (let p = 0; p < hw; p++) for (let c = 0; c < dims; c++) v[c] = (v[c] as number) + (row[p * dims + c] as number);
      for (let c = 0; c < dims; c++) v[c] = (v[c] as number) / hw;
    }
  }
  return { vectors: out, dims };
}

/** Per-channel mean and standard deviation of rows; a channel that never varies gets a small floor, not 0. */
function channelStats(vectors: Float32Array, dims: number): { mean: Float32Array; std: Float32Array } {
  const n = vectors.length / dims;
  const mean = new Float64Array(dims);
  const sq = new Float64Array(dims);
  for (let j = 0; j < n; j++)
    for (let c = 0; c < dims; c++) {
      const x = vectors[j * dims + c] as number;
      mean[c] = (mean[c] as number) + x;
      sq[c] = (sq[c] as number) + x * x;
    }
  const std = new Float32Array(dims);
  let avgStd = 0;
  for (let c = 0; c < dims; c++) {
    mean[c] = (mean[c] as number) / n;
    std[c] = Math.sqrt(Math.max(0, (sq[c] as number) / n - (mean[c] as number) ** 2));
    avgStd += (std[c] as number) / dims;
  }
  const floor = Math.max(1e-6, 0.01 * avgStd);
  for (let c = 0; c < dims; c++) std[c] = Math.max(std[c] as number, floor);
  return { mean: Float32Array.from(mean), std };
}

function standardize(v: Float32Array, mean: Float32Array, std: Float32Array): void {
  for (let c = 0; c < v.length; c++) v[c] = ((v[c] as number) - (mean[c] as number)) / (std[c] as number);
}

/** The k-th smallest RMS distance from standardised `v` to the reference rows, `skip` (a row index) left out. */
function kthDistance(refs: Float32Array, dims: number, v: Float32Array, k: number, skip = -1): number {
  const n = refs.length / dims;
  const best: number[] = []; // ascending, at most k
  for (let r = 0; r < n; r++) {
    if (r === skip) continue;
    let sum = 0;
    const o = r * dims;
    for (let i = 0; i < dims; i++) sum += ((refs[o + i] as number) - (v[i] as number)) ** 2;
    const d = Math.sqrt(sum / dims);
    if (best.length < k || d < (best[best.length - 1] as number)) {
      let at = best.length;
      while (at > 0 && (best[at - 1] as number) > d) at--;
      best.splice(at, 0, d);
      if (best.length > k) best.pop();
    }
  }
  return best[best.length - 1] ?? 0;
}

/** The value below which a share `q` of the (unsorted) values lie, nearest rank. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).sort();
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

export interface FitDriftOptions {
  /** The training images as stored (no augmented views), with labels. */
  train: FeatureRows;
  /** The validation split, or null (then the training images calibrate, each left out of its own neighbours). */
  val: FeatureRows | null;
  classes: string[];
  layer: string;
  pooling: Pooling;
  maxReferences?: number;
  k?: number;
  percentile?: number;
  seed?: number;
}

/** References (stratified by class, seeded) and the threshold calibrated on the validation split. */
export function fitDriftReference(options: FitDriftOptions): DriftReference {
  const { train, classes } = options;
  if (train.n === 0) throw new Error('drift reference: no training images');
  const k = Math.max(1, Math.min(options.k ?? DRIFT_K, train.n - (options.val?.n ? 0 : 1) || 1));
  const q = options.percentile ?? DRIFT_PERCENTILE;
  const max = options.maxReferences ?? DRIFT_MAX_REFERENCES;
  const { vectors, dims } = pooledVectors(train);
  const { mean, std } = channelStats(vectors, dims);
  for (let j = 0; j < train.n; j++) standardize(vectors.subarray(j * dims, (j + 1) * dims), mean, std);
  const labels = train.labels ?? new Array<number>(train.n).fill(0);
  // Each class keeps its share of the references (at least one image when it has any).
  const byClass = new Map<number, number[]>();
  labels.forEach((l, j) => {
    const rows = byClass.get(l);
    if (rows) rows.push(j);
    else byClass.set(l, [j]);
  });
  const rng = createRng(options.seed ?? 42);
  const chosen: number[] = [];
  for (const rows of byClass.values()) {
    const take = train.n <= max ? rows.length : Math.max(1, Math.round((rows.length * max) / train.n));
    chosen.push(...rng.shuffle([...rows]).slice(0, take));
  }
  chosen.sort((a, b) => a - b);
  const refs = new Float32Array(chosen.length * dims);
  chosen.forEach((j, r) => {
    refs.set(vectors.subarray(j * dims, (j + 1) * dims), r * dims);
  });
  let scores: number[];
  let split: 'val' | 'train';
  if (options.val && options.val.n > 0) {
    const val = pooledVectors(options.val);
    if (val.dims !== dims) throw new Error(`drift reference: validation vectors have ${val.dims} values, training ${dims}`);
    for (let j = 0; j < options.val.n; j++) standardize(val.vectors.subarray(j * dims, (j + 1) * dims), mean, std);
    scores = Array.from({ length: options.val.n }, (_, j) => kthDistance(refs, dims, val.vectors.subarray(j * dims, (j + 1) * dims), k));
    split = 'val';
  } else {
    const refIndex = new Map(chosen.map((j, r) => [j, r]));
    scores = Array.from({ length: train.n }, (_, j) => kthDistance(refs, dims, vectors.subarray(j * dims, (j + 1) * dims), k, refIndex.get(j) ?? -1));
    split = 'train';
  }
  const classCounts = Object.fromEntries(classes.map((c) => [c, 0]));
  for (const l of labels) {
    const name = classes[l];
    if (name !== undefined) classCounts[name] = (classCounts[name] ?? 0) + 1;
  }
  const round = (x: number) => Math.round(x * 1e6) / 1e6;
  return {
    method: 'knn-standardized',
    file: DRIFT_FILE,
    k,
    layer: options.layer,
    pooling: options.pooling,
    dims,
    references: chosen.length,
    threshold: round(percentile(scores, q)),
    percentile: q,
    calibration: {
      split,
      count: scores.length,
      p50: round(percentile(scores, 0.5)),
      p95: round(percentile(scores, 0.95)),
      p99: round(percentile(scores, 0.99)),
      max: round(Math.max(...scores)),
    },
    classCounts,
    mean,
    std,
    vectors: refs,
  };
}

export interface DriftCall {
  score: number;
  threshold: number;
  drifted: boolean;
}

/** The drift score of one pooled (not yet normalised) feature vector. */
export function driftScore(ref: DriftReference, pooled: Float32Array): DriftCall {
  if (pooled.length !== ref.dims) throw new Error(`drift: the feature vector has ${pooled.length} values, the reference ${ref.dims}`);
  const v = new Float32Array(pooled);
  standardize(v, ref.mean, ref.std);
  const score = kthDistance(ref.vectors, ref.dims, v, ref.k);
  return { score, threshold: ref.threshold, drifted: score > ref.threshold };
}

/** The metadata part (what defectflow.json carries). */
export function driftMeta(ref: DriftReference): DriftReferenceMeta {
  const { vectors: _vectors, mean: _mean, std: _std, ...meta } = ref;
  return meta;
}

/** drift.bin's bytes: the mean row, the standard deviation row, then the reference rows; float32 little-endian. */
export function driftBytes(ref: DriftReference): Uint8Array {
  const all = new Float32Array((2 + ref.references) * ref.dims);
  all.set(ref.mean, 0);
  all.set(ref.std, ref.dims);
  all.set(ref.vectors, 2 * ref.dims);
  const out = new Uint8Array(all.byteLength);
  const view = new DataView(out.buffer);
  all.forEach((x, i) => {
    view.setFloat32(i * 4, x, true);
  });
  return out;
}

/** The reference from defectflow.json's `drift` and drift.bin's bytes (checked against each other). */
export function driftFromBytes(meta: DriftReferenceMeta, bytes: Uint8Array, where: string): DriftReference {
  if (bytes.byteLength !== (2 + meta.references) * meta.dims * 4)
    throw new Error(`${where}: ${bytes.byteLength} bytes, expected (2 + ${meta.references}) × ${meta.dims} float32 values (defectflow.json drift)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const all = new Float32Array((2 + meta.references) * meta.dims);
  for (let i = 0; i < all.length; i++) all[i] = view.getFloat32(i * 4, true);
  return { ...meta, mean: all.slice(0, meta.dims), std: all.slice(meta.dims, 2 * meta.dims), vectors: all.slice(2 * meta.dims) };
}
