import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

export type Pooling = 'avg' | 'max' | 'avgmax';

/** Images as HWC float 0..255 arrays, given all at once or loaded on demand in ranges. */
export type ImageSource =
  | Float32Array[]
  | { count: number; load(start: number, end: number, signal?: AbortSignal): Promise<Float32Array[]> };

export interface ExtractOptions {
  batchSize?: number;
  /** Pool the feature map to a vector before download (when nothing convolutional is trained after it). */
  pool?: Pooling | null;
  onProgress?: (done: number, total: number, etaMs: number) => void;
  signal?: AbortSignal;
}

export interface FeatureArray {
  /** n × prod(shape) floats, row-major. */
  data: Float32Array;
  n: number;
  /** Shape of one item. */
  shape: number[];
}

export class AbortError extends Error {
  readonly code = 'cancelled';
  constructor(message = 'cancelled') {
    super(message);
    this.name = 'AbortError';
  }
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortError();
}

/** Pools a [n,h,w,c] feature map over space. */
export function poolFeatureMap(x: tf.Tensor4D, pooling: Pooling): tf.Tensor2D {
  return tf.tidy(() => {
    if (pooling === 'avg') return tf.mean(x, [1, 2]) as tf.Tensor2D;
    if (pooling === 'max') return tf.max(x, [1, 2]) as tf.Tensor2D;
    return tf.concat([tf.mean(x, [1, 2]), tf.max(x, [1, 2])], 1) as tf.Tensor2D;
  });
}

/**
 * Runs a (frozen) model once per image and returns its outputs as one Float32Array.
 * Yields to the event loop between batches so progress events flow and cancellation is prompt.
 */
export async function extractFeatures(model: tf.LayersModel, source: ImageSource, options: ExtractOptions = {}): Promise<FeatureArray> {
  const batchSize = Math.max(1, options.batchSize ?? 16);
  const count = Array.isArray(source) ? source.length : source.count;
  const inShape = (model.inputs[0]?.shape ?? []).slice(1) as number[];
  const [h, w, c] = inShape as [number, number, number];
  let outShape = (model.outputs[0]?.shape ?? []).slice(1).map((v) => v ?? 0);
  if (options.pool) {
    const channels = outShape[outShape.length - 1] ?? 0;
    outShape = [options.pool === 'avgmax' ? channels * 2 : channels];
  }
  const per = outShape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(count * per);
  const started = Date.now();
  const load = (start: number): Promise<Float32Array[]> => {
    const end = Math.min(count, start + batchSize);
    return Array.isArray(source) ? Promise.resolve(source.slice(start, end)) : source.load(start, end, options.signal);
  };
  // Decode the next batch (sharp, on libuv threads) while this one runs through the network.
  let pending: Promise<Float32Array[]> | null = count > 0 ? load(0) : null;
  try {
    for (let start = 0; start < count; start += batchSize) {
      throwIfAborted(options.signal);
      const end = Math.min(count, start + batchSize);
      const images = await (pending as Promise<Float32Array[]>);
      pending = end < count ? load(end) : null;
      if (images.length !== end - start) throw new Error(`image source returned ${images.length} images for range ${start}..${end}`);
      const batch = new Float32Array((end - start) * h * w * c);
      images.forEach((img, i) => {
        if (img.length !== h * w * c) throw new Error(`image ${start + i} has ${img.length} values, expected ${h}×${w}×${c}`);
        batch.set(img, i * h * w * c);
      });
      const out = tf.tidy(() => {
        const y = model.predict(tf.tensor4d(batch, [end - start, h, w, c])) as tf.Tensor;
        return options.pool ? poolFeatureMap(y as tf.Tensor4D, options.pool) : y;
      });
      data.set(await out.data(), start * per);
      out.dispose();
      const elapsed = Date.now() - started;
      options.onProgress?.(end, count, Math.round((elapsed / end) * (count - end)));
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    // A prefetch still running when we stop early must not become an unhandled rejection.
    pending?.catch(() => {});
  }
  return { data, n: count, shape: outShape };
}

export interface CachedFeatures extends FeatureArray {
  /** Item ids in row order (what the rows mean). */
  ids: string[];
  /** Integer labels per row, when known. */
  labels?: number[];
}

interface Header {
  key: string;
  n: number;
  shape: number[];
  ids: string[];
  labels?: number[];
  createdAt: string;
  bytes: number;
}

/** Builds a stable cache key from its parts (dataset, augmentation, backbone, boundary, pooling…). */
export function featureCacheKey(parts: Record<string, unknown>): string {
  const sorted = Object.keys(parts)
    .sort()
    .map((k) => `${k}=${JSON.stringify(parts[k])}`)
    .join('&');
  return sorted;
}

/**
 * Boundary activations on disk (binary float32 + JSON header, file name = hash of the key) with an
 * in-memory LRU in front: computed once, reused across epochs, runs and processes.
 */
export class FeatureCache {
  private readonly memory = new Map<string, CachedFeatures>();
  private memoryBytes = 0;

  constructor(
    readonly dir: string,
    private readonly maxMemoryBytes = 512 * 1024 * 1024,
  ) {}

  private file(key: string): string {
    return path.join(this.dir, createHash('sha256').update(key).digest('hex').slice(0, 32));
  }

  async get(key: string): Promise<CachedFeatures | null> {
    const hit = this.memory.get(key);
    if (hit) {
      this.memory.delete(key);
      this.memory.set(key, hit);
      return hit;
    }
    const base = this.file(key);
    try {
      const header = JSON.parse(await fs.readFile(`${base}.json`, 'utf8')) as Header;
      if (header.key !== key) return null;
      const buf = await fs.readFile(`${base}.bin`);
      if (buf.byteLength !== header.bytes) return null;
      const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      const value: CachedFeatures = { data, n: header.n, shape: header.shape, ids: header.ids, labels: header.labels };
      this.remember(key, value);
      return value;
    } catch {
      return null;
    }
  }

  async set(key: string, value: CachedFeatures): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
    const base = this.file(key);
    const bytes = value.data.byteLength;
    // Write the data first and the header last, each via rename, so a reader never sees half a file.
    const tmp = `${base}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(tmp, new Uint8Array(value.data.buffer, value.data.byteOffset, bytes));
    await fs.rename(tmp, `${base}.bin`);
    const header: Header = { key, n: value.n, shape: value.shape, ids: value.ids, labels: value.labels, createdAt: new Date().toISOString(), bytes };
    await fs.writeFile(`${tmp}.json`, JSON.stringify(header));
    await fs.rename(`${tmp}.json`, `${base}.json`);
    this.remember(key, value);
  }

  private remember(key: string, value: CachedFeatures): void {
    const old = this.memory.get(key);
    if (old) {
      this.memoryBytes -= old.data.byteLength;
      this.memory.delete(key);
    }
    if (value.data.byteLength > this.maxMemoryBytes) return;
    this.memory.set(key, value);
    this.memoryBytes += value.data.byteLength;
    for (const [k, v] of this.memory) {
      if (this.memoryBytes <= this.maxMemoryBytes) break;
      this.memory.delete(k);
      this.memoryBytes -= v.data.byteLength;
    }
  }

  clearMemory(): void {
    this.memory.clear();
    this.memoryBytes = 0;
  }
}
