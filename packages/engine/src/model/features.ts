import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { maxOverTiles } from '../data/fit.ts';
import { type FeatureExtractor, type FrozenGraph, type OrtLoader, isFrozenGraph } from '../onnx/runtime-types.ts';

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
  /**
   * 'auto' (default): the model runs in ONNX Runtime when it loads and converts, TF.js otherwise;
   * 'tfjs': always TF.js (reference path for tests and benchmarks).
   */
  engine?: 'auto' | 'tfjs';
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /** One line per call saying which engine ran (and why TF.js, when it fell back). */
  log?: (message: string) => void;
  /** Injected for tests: an ONNX Runtime loader (uncached extractor); defaults to onnxruntime-node, memoised per model. */
  loadRuntime?: OrtLoader;
  /**
   * Images may hold several square tiles back to back (backbone fit 'tiles'): each tile runs
   * through the model, the tiles' feature maps are combined by element-wise max, then pooled.
   */
  tiles?: boolean;
  /**
   * The source interleaves this many views of each image (row j·m + v is view v of image j):
   * rows go straight into one array per view (FeatureArray.views), so the caller needs no second
   * copy of them. A feature map at the boundary of the default template is 230 KB an image.
   */
  views?: number;
}

export interface FeatureArray {
  /** n × prod(shape) floats, row-major. */
  data: Float32Array;
  n: number;
  /** Shape of one item. */
  shape: number[];
  /** Which engine computed the features (absent for cache hits written before this field existed). */
  engine?: FeatureEngineInfo;
  /** With ExtractOptions.views = m: the rows of view v, for each v (`data` is views[0]). */
  views?: Float32Array[];
}

export interface FeatureEngineInfo {
  name: 'onnxruntime' | 'tfjs';
  /** ORT intra-op threads, or null on TF.js. */
  threads: number | null;
  /** Why ONNX Runtime was not used; null when it was (or when TF.js was asked for). */
  fallbackReason: string | null;
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

/** Pools one HWC feature map (hw positions × c channels) like poolFeatureMap, in JS. */
function poolMap(map: Float32Array, c: number, pooling: Pooling): Float32Array {
  const hw = map.length / c;
  const out = new Float32Array(pooling === 'avgmax' ? 2 * c : c);
  if (pooling !== 'max') {
    const sum = new Float64Array(c);
    for (let p = 0; p < hw; p++) for (let k = 0; k < c; k++) sum[k] = (sum[k] as number) + (map[p * c + k] as number);
    for (let k = 0; k < c; k++) out[k] = (sum[k] as number) / hw;
  }
  if (pooling !== 'avg') {
    const at = pooling === 'max' ? 0 : c;
    out.fill(Number.NEGATIVE_INFINITY, at, at + c);
    for (let p = 0; p < hw; p++)
      for (let k = 0; k < c; k++) if ((map[p * c + k] as number) > (out[at + k] as number)) out[at + k] = map[p * c + k] as number;
  }
  return out;
}

/** The frozen model's runner: ORT (memoised per model) when available, TF.js otherwise. */
async function featureExtractor(model: tf.LayersModel | FrozenGraph, options: ExtractOptions, spin: boolean): Promise<{ fx: FeatureExtractor; threads: number | null }> {
  if (isFrozenGraph(model)) {
    // An imported ONNX backbone runs only in ONNX Runtime (there is no TF.js model of it).
    const threads = Math.max(1, Math.floor(options.threads ?? os.cpus().length));
    return { fx: await model.extractor({ pool: options.pool ?? null, threads, spin }), threads };
  }
  // Imported lazily: onnx/runtime.ts imports this module (poolFeatureMap), and a static cycle would
  // make load order matter.
  const rt = await import('../onnx/runtime.ts');
  const pool = options.pool ?? null;
  if (options.engine === 'tfjs') return { fx: rt.createTfjsFeatureExtractor(model, { pool }), threads: null };
  const threads = Math.max(1, Math.floor(options.threads ?? os.cpus().length));
  const fx = options.loadRuntime
    ? await rt.createFeatureExtractor(model, { pool, threads, spin, loadRuntime: options.loadRuntime })
    : await rt.cachedFeatureExtractor(model, { pool, threads, spin });
  return { fx, threads: fx.engine === 'onnxruntime' ? threads : null };
}

/**
 * Runs a (frozen) model once per image and returns its outputs as one Float32Array — in ONNX
 * Runtime when it is available (several times faster than TF.js wasm on CPU), else TF.js.
 * Decodes the next batch while the current one runs; yields to the event loop between batches so
 * progress events flow and cancellation is prompt.
 */
export async function extractFeatures(model: tf.LayersModel | FrozenGraph, source: ImageSource, options: ExtractOptions = {}): Promise<FeatureArray> {
  const count = Array.isArray(source) ? source.length : source.count;
  const graph = isFrozenGraph(model) ? model : null;
  const inShape = graph ? graph.inputShape : ((model as tf.LayersModel).inputs[0]?.shape ?? []).slice(1) as number[];
  const [h, w, c] = inShape as [number, number, number];
  const mapShape = graph ? graph.outputShape : ((model as tf.LayersModel).outputs[0]?.shape ?? []).slice(1).map((v) => v ?? 0);
  let outShape = mapShape;
  if (options.pool) {
    const channels = outShape[outShape.length - 1] ?? 0;
    outShape = [options.pool === 'avgmax' ? channels * 2 : channels];
  }
  const per = outShape.reduce((a, b) => a * b, 1);
  const m = Math.max(1, Math.floor(options.views ?? 1));
  if (count % m !== 0) throw new Error(`${count} rows are not ${m} interleaved views of whole images`);
  const views = Array.from({ length: m }, () => new Float32Array((count / m) * per));
  const data = views[0] as Float32Array;
  /** Row `row` of the output (`values` holds rows row, row+1, … back to back). */
  const store = (row: number, values: Float32Array) => {
    if (m === 1) {
      data.set(values, row * per);
      return;
    }
    for (let r = 0; r < values.length / per; r++) {
      (views[(row + r) % m] as Float32Array).set(values.subarray(r * per, (r + 1) * per), Math.floor((row + r) / m) * per);
    }
  };
  // Tiles: the model runs unpooled, and pooling follows the max over each image's tiles.
  const tiled = options.tiles === true;
  const mapPer = mapShape.reduce((a, b) => a * b, 1);
  // ORT's threads may busy-wait between operators when nothing else needs the cores: images
  // already in memory. Decoding from disk runs beside inference, and spinning threads starved it
  // (the default template's extraction took 16.1 s spinning vs 13.9 s not, same run).
  const { fx, threads } = await featureExtractor(model, tiled ? { ...options, pool: null } : options, Array.isArray(source));
  const engine: FeatureEngineInfo = { name: fx.engine, threads, fallbackReason: fx.fallbackReason };
  // ORT gains a little from larger batches; TF.js wasm peaks around 16.
  const batchSize = Math.max(1, options.batchSize ?? (fx.engine === 'onnxruntime' ? 32 : 16));
  options.log?.(
    fx.engine === 'onnxruntime'
      ? `features: onnxruntime (${threads} thread${threads === 1 ? '' : 's'}), batch ${batchSize}, ${count} images`
      : `features: tfjs ${tf.getBackend()}, batch ${batchSize}, ${count} images${fx.fallbackReason ? ` (ONNX Runtime not used: ${fx.fallbackReason})` : ''}`,
  );
  const started = Date.now();
  const load = (start: number): Promise<Float32Array[]> => {
    const end = Math.min(count, start + batchSize);
    const loading = Array.isArray(source) ? Promise.resolve(source.slice(start, end)) : source.load(start, end, options.signal);
    // A prefetch can reject (cancel, unreadable file) while the current batch is still in the network,
    // before the loop awaits it: unhandled for that moment, it reached process-level handlers (the
    // wasm backend's rethrow them) and took the runner down. Marked handled here; the await still throws.
    loading.catch(() => {});
    return loading;
  };
  // Decode the next batch (sharp, on libuv threads) while this one runs through the network.
  let pending: Promise<Float32Array[]> | null = count > 0 ? load(0) : null;
  const batch = new Float32Array(batchSize * h * w * c);
  const pix = h * w * c;
  // All tiles of a batch's images go through the model in runs of ≤ batchSize tiles (memory stays
  // that of an untiled batch); then each image's maps are max-combined and pooled.
  const runTiles = async (images: Float32Array[], start: number): Promise<void> => {
    const counts = images.map((img, i) => {
      const t = img.length / pix;
      if (!Number.isInteger(t) || t < 1) throw new Error(`image ${start + i} has ${img.length} values, not a whole number of ${h}×${w}×${c} tiles`);
      return t;
    });
    const total = counts.reduce((a, b) => a + b, 0);
    const maps = new Float32Array(total * mapPer);
    const tilesAt = (k: number): Float32Array => {
      let i = 0;
      let rest = k;
      while (rest >= (counts[i] as number)) rest -= counts[i++] as number;
      return (images[i] as Float32Array).subarray(rest * pix, (rest + 1) * pix);
    };
    for (let s = 0; s < total; s += batchSize) {
      const e = Math.min(total, s + batchSize);
      for (let k = s; k < e; k++) batch.set(tilesAt(k), (k - s) * pix);
      const out = await fx.run(batch.subarray(0, (e - s) * pix), e - s);
      if (out.length !== (e - s) * mapPer) throw new Error(`feature extractor returned ${out.length} values, expected ${(e - s) * mapPer}`);
      maps.set(out, s * mapPer);
    }
    let k = 0;
    counts.forEach((t, i) => {
      const map = maxOverTiles(maps.subarray(k * mapPer, (k + t) * mapPer), t, mapPer);
      k += t;
      store(start + i, options.pool ? poolMap(map, mapShape[mapShape.length - 1] ?? 1, options.pool) : map);
    });
  };
  try {
    for (let start = 0; start < count; start += batchSize) {
      throwIfAborted(options.signal);
      const end = Math.min(count, start + batchSize);
      const images = await (pending as Promise<Float32Array[]>);
      pending = end < count ? load(end) : null;
      if (images.length !== end - start) throw new Error(`image source returned ${images.length} images for range ${start}..${end}`);
      if (tiled) {
        await runTiles(images, start);
      } else {
        images.forEach((img, i) => {
          if (img.length !== h * w * c) throw new Error(`image ${start + i} has ${img.length} values, expected ${h}×${w}×${c}`);
          batch.set(img, i * h * w * c);
        });
        const out = await fx.run(batch.subarray(0, (end - start) * h * w * c), end - start);
        if (out.length !== (end - start) * per) throw new Error(`feature extractor returned ${out.length} values, expected ${(end - start) * per}`);
        store(start, out);
      }
      const elapsed = Date.now() - started;
      options.onProgress?.(end, count, Math.round((elapsed / end) * (count - end)));
      await new Promise((r) => setImmediate(r));
    }
  } finally {
    // A prefetch still running when we stop early must not become an unhandled rejection.
    pending?.catch(() => {});
    // Memoised ORT extractors live with their model; only one-off ones (injected loader) are ours to free.
    if (!graph && (options.loadRuntime || options.engine === 'tfjs')) await fx.dispose();
  }
  return { data, n: count / m, shape: outShape, engine, ...(m > 1 ? { views } : {}) };
}

export interface CachedFeatures extends FeatureArray {
  /** Item ids in row order (what the rows mean). */
  ids: string[];
  /** Integer labels per row, when known. */
  labels?: number[];
  /** Items asked for that have no row: their image did not decode (id, path and why). */
  skipped?: SkippedImage[];
}

export interface SkippedImage {
  id: string;
  path: string;
  reason: string;
}

interface Header {
  key: string;
  n: number;
  shape: number[];
  ids: string[];
  labels?: number[];
  skipped?: SkippedImage[];
  createdAt: string;
  bytes: number;
}

export interface FeatureCacheLimits {
  /** In-memory LRU budget (default 512 MiB); entries over a quarter of it are read from disk instead. */
  maxMemoryBytes?: number;
  /** On-disk cap (default 4 GiB): after each write, least recently used entries go until under it. */
  maxDiskBytes?: number;
}

export const FEATURE_CACHE_DEFAULTS = {
  maxMemoryBytes: 512 * 1024 * 1024,
  maxDiskBytes: 4 * 1024 * 1024 * 1024,
} as const;

/** Entry files: `<32 hex>.bin` (the floats) and `<32 hex>.json` (the header). */
const ENTRY_FILE = /^([0-9a-f]{32})\.(bin|json)$/;
/** A write's temporary file (`<base>.<pid>.<time>.tmp[.json]`); one this old was left by a crash. */
const TMP_FILE = /^[0-9a-f]{32}\.\d+\.\d+\.tmp(\.json)?$/;
const STALE_TMP_MS = 60 * 60 * 1000;

/** Strictly increasing times for this process's touches, so recency never ties within it. */
let lastTouch = 0;
function touchTime(): Date {
  lastTouch = Math.max(Date.now(), lastTouch + 1);
  return new Date(lastTouch);
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
 * in-memory LRU in front: computed once, reused across epochs, runs and processes. Both are
 * bounded: memory by `maxMemoryBytes`, disk by `maxDiskBytes` with least-recently-used eviction
 * (recency = the .bin file's mtime, touched on every hit, so other processes sharing the folder
 * see it too). Entries a run pinned (`pin`) or that are being written are never evicted.
 */
export class FeatureCache {
  private readonly memory = new Map<string, CachedFeatures>();
  private memoryBytes = 0;
  private readonly maxMemoryBytes: number;
  readonly maxDiskBytes: number;
  /** owner (a run id) → keys it uses: kept on disk until `release(owner)`. */
  private readonly pins = new Map<string, Set<string>>();
  /** Evictions run one at a time. */
  private evicting: Promise<void> = Promise.resolve();
  /** Entries being looked up or computed now: a second caller waits for them instead of computing them again. */
  private readonly inflight = new Map<string, Promise<CachedFeatures | null>>();

  /**
   * Claims `key` for the caller, synchronously, unless another caller holds it (then null: use
   * `awaitPending`). The holder must `settle` the claim with the entry, or null when it has none.
   */
  claim(key: string): { settle(value: CachedFeatures | null): void } | null {
    if (this.inflight.has(key)) return null;
    let settle!: (value: CachedFeatures | null) => void;
    const done = new Promise<CachedFeatures | null>((resolve) => {
      settle = resolve;
    });
    this.inflight.set(key, done);
    return {
      settle: (value) => {
        if (this.inflight.get(key) === done) this.inflight.delete(key);
        settle(value);
      },
    };
  }

  /** What the holder of `key` settles it with (null when it failed), or null when nobody holds it. */
  awaitPending(key: string): Promise<CachedFeatures | null> {
    return this.inflight.get(key) ?? Promise.resolve(null);
  }

  /** `limits` may be a number: the memory budget alone (the older signature). */
  constructor(
    readonly dir: string,
    limits: number | FeatureCacheLimits = {},
  ) {
    const l = typeof limits === 'number' ? { maxMemoryBytes: limits } : limits;
    this.maxMemoryBytes = l.maxMemoryBytes ?? FEATURE_CACHE_DEFAULTS.maxMemoryBytes;
    this.maxDiskBytes = l.maxDiskBytes ?? FEATURE_CACHE_DEFAULTS.maxDiskBytes;
  }

  private base(key: string): string {
    return createHash('sha256').update(key).digest('hex').slice(0, 32);
  }

  private file(key: string): string {
    return path.join(this.dir, this.base(key));
  }

  /** Keeps `keys` on disk until `release(owner)`: a run pins what it reads and writes. */
  pin(owner: string, keys: Iterable<string>): void {
    let set = this.pins.get(owner);
    if (!set) {
      set = new Set();
      this.pins.set(owner, set);
    }
    for (const k of keys) set.add(k);
  }

  /** Drops `owner`'s pins; what they held past the disk cap is evicted now. */
  release(owner: string): Promise<void> {
    if (!this.pins.delete(owner)) return Promise.resolve();
    return this.enforceDiskCap();
  }

  /** Marks an entry as just used (its .bin mtime), for the disk LRU. Best effort. */
  private async touch(key: string): Promise<void> {
    const t = touchTime();
    await fs.utimes(`${this.file(key)}.bin`, t, t).catch(() => {});
  }

  /** Entries being written to disk: readers get them from here until the files are complete. */
  private readonly writing = new Map<string, CachedFeatures>();

  async get(key: string): Promise<CachedFeatures | null> {
    const being = this.writing.get(key);
    if (being) return being;
    const hit = this.memory.get(key);
    if (hit) {
      this.memory.delete(key);
      this.memory.set(key, hit);
      await this.touch(key);
      return hit;
    }
    const base = this.file(key);
    try {
      const header = JSON.parse(await fs.readFile(`${base}.json`, 'utf8')) as Header;
      if (header.key !== key) return null;
      const buf = await fs.readFile(`${base}.bin`);
      if (buf.byteLength !== header.bytes) return null;
      // A view when the buffer is aligned (large reads are): no second copy of a 290 MB map.
      const data =
        buf.byteOffset % 4 === 0
          ? new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4)
          : new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      const value: CachedFeatures = {
        data,
        n: header.n,
        shape: header.shape,
        ids: header.ids,
        labels: header.labels,
        ...(header.skipped?.length ? { skipped: header.skipped } : {}),
      };
      this.remember(key, value);
      await this.touch(key);
      return value;
    } catch {
      return null;
    }
  }

  /**
   * Stores an entry: readable at once (memory, or the pending-write table for maps too large to
   * keep), on disk when the returned promise resolves. Callers that only need the entry later need
   * not wait for the disk: writing the default template's maps takes ≈ 1.5 s.
   */
  set(key: string, value: CachedFeatures): Promise<void> {
    this.writing.set(key, value);
    this.remember(key, value);
    const done = this.write(key, value).finally(() => {
      if (this.writing.get(key) === value) this.writing.delete(key);
      this.pendingWrites.delete(done);
    });
    this.pendingWrites.add(done);
    return done;
  }

  private readonly pendingWrites = new Set<Promise<void>>();

  /** Resolves when every write started so far has finished (failed ones included). */
  async flush(): Promise<void> {
    await Promise.allSettled([...this.pendingWrites]);
  }

  private async write(key: string, value: CachedFeatures): Promise<void> {
    const bytes = value.data.byteLength;
    // An entry larger than the whole cap would only evict everything and then itself.
    if (bytes > this.maxDiskBytes) return;
    await fs.mkdir(this.dir, { recursive: true });
    const base = this.file(key);
    // Write the data first and the header last, each via rename, so a reader never sees half a file.
    const tmp = `${base}.${process.pid}.${Date.now()}.tmp`;
    await fs.writeFile(tmp, new Uint8Array(value.data.buffer, value.data.byteOffset, bytes));
    await fs.rename(tmp, `${base}.bin`);
    const header: Header = {
      key,
      n: value.n,
      shape: value.shape,
      ids: value.ids,
      labels: value.labels,
      ...(value.skipped?.length ? { skipped: value.skipped } : {}),
      createdAt: new Date().toISOString(),
      bytes,
    };
    await fs.writeFile(`${tmp}.json`, JSON.stringify(header));
    await fs.rename(`${tmp}.json`, `${base}.json`);
    await this.touch(key);
    // The entry just written is still in `writing` (the caller's finally removes it): never its own victim.
    await this.enforceDiskCap();
  }

  /** Evicts least recently used entries until the folder is under `maxDiskBytes` (serialised). */
  enforceDiskCap(): Promise<void> {
    const run = this.evicting.then(() => this.evictOnce());
    this.evicting = run.catch(() => {});
    return run;
  }

  private async evictOnce(): Promise<void> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    const entries = new Map<string, { bytes: number; usedAt: number; files: string[] }>();
    const now = Date.now();
    for (const name of names) {
      const file = path.join(this.dir, name);
      const st = await fs.stat(file).catch(() => null);
      if (!st?.isFile()) continue;
      if (TMP_FILE.test(name)) {
        if (now - st.mtimeMs > STALE_TMP_MS) await fs.rm(file, { force: true });
        continue;
      }
      const m = ENTRY_FILE.exec(name);
      if (!m) continue;
      const base = m[1] as string;
      const e = entries.get(base) ?? { bytes: 0, usedAt: 0, files: [] };
      e.bytes += st.size;
      // Recency is the .bin's mtime (touched on every hit); a header alone has only its own.
      if (m[2] === 'bin' || e.usedAt === 0) e.usedAt = st.mtimeMs;
      // The header goes first: without it a reader sees a miss, never a header without data.
      if (m[2] === 'json') e.files.unshift(file);
      else e.files.push(file);
      entries.set(base, e);
    }
    let total = 0;
    for (const e of entries.values()) total += e.bytes;
    if (total <= this.maxDiskBytes) return;
    const kept = new Set<string>();
    for (const keys of this.pins.values()) for (const k of keys) kept.add(this.base(k));
    for (const k of this.writing.keys()) kept.add(this.base(k));
    const oldestFirst = [...entries].filter(([base]) => !kept.has(base)).sort((a, b) => a[1].usedAt - b[1].usedAt);
    for (const [, e] of oldestFirst) {
      if (total <= this.maxDiskBytes) break;
      for (const f of e.files) await fs.rm(f, { force: true });
      total -= e.bytes;
    }
  }

  /** Whether `key`'s files are on disk (without touching its recency). */
  async onDisk(key: string): Promise<boolean> {
    const base = this.file(key);
    const [bin, json] = await Promise.all([fs.stat(`${base}.bin`).catch(() => null), fs.stat(`${base}.json`).catch(() => null)]);
    return Boolean(bin?.isFile() && json?.isFile());
  }

  /** Bytes the cache's entries take on disk now (headers included). */
  async diskBytes(): Promise<number> {
    const names = await fs.readdir(this.dir).catch(() => [] as string[]);
    let total = 0;
    for (const name of names) if (ENTRY_FILE.test(name)) total += (await fs.stat(path.join(this.dir, name)).catch(() => null))?.size ?? 0;
    return total;
  }

  private remember(key: string, value: CachedFeatures): void {
    const old = this.memory.get(key);
    if (old) {
      this.memoryBytes -= old.data.byteLength;
      this.memory.delete(key);
    }
    // Unpooled maps (a spatial head's: 290 MB for the default template's training views) are read
    // from disk when needed instead: kept here they would double the runner's peak memory while
    // training copies them.
    if (value.data.byteLength > this.maxMemoryBytes / 4) return;
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
