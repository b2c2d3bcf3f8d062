import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import { poolFeatureMap } from '../model/features.ts';
import { type ConvertToOnnxOptions, convertLayersModelToOnnxDetailed, type OnnxPooling } from './convert.ts';
import { encodeOnnxModel } from './onnx-proto.ts';
import type { FeatureExtractor, OrtLoader, OrtModule, OrtSessionOptions } from './runtime-types.ts';

export type { FeatureExtractor, OrtLoader, OrtModule, OrtSession, OrtSessionOptions, OrtTensor } from './runtime-types.ts';

const ORT_PACKAGE = 'onnxruntime-node';

/** Imports onnxruntime-node (CommonJS: its exports may sit on `default`). */
export const loadOnnxRuntime: OrtLoader = async () => {
  const mod = (await import(/* @vite-ignore */ ORT_PACKAGE)) as OrtModule & { default?: OrtModule };
  const ort = mod.InferenceSession ? mod : mod.default;
  if (!ort?.InferenceSession || !ort.Tensor) throw new Error(`${ORT_PACKAGE} loaded but exports no InferenceSession`);
  return ort;
};

export type OrtAvailability = { ok: true; version: string | null } | { ok: false; reason: string };

/** A one-node model (Identity on a [1] float): proves the native binding loads and runs. */
function probeModel(): Uint8Array {
  return encodeOnnxModel({
    producerName: 'defectflow',
    producerVersion: '0.1.0',
    graph: {
      name: 'probe',
      nodes: [{ opType: 'Identity', name: 'id', inputs: ['x'], outputs: ['y'] }],
      initializers: [],
      inputs: [{ name: 'x', dims: [1] }],
      outputs: [{ name: 'y', dims: [1] }],
    },
  });
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return (msg.split('\n')[0] ?? msg).slice(0, 300);
}

let defaultAvailability: Promise<OrtAvailability> | undefined;

/**
 * Whether ONNX Runtime can be used here: the package imports and its native binding runs a trivial
 * model. Never throws; `reason` says what failed. Cached for the default loader.
 */
export function isOnnxRuntimeAvailable(loader: OrtLoader = loadOnnxRuntime): Promise<OrtAvailability> {
  const check = async (): Promise<OrtAvailability> => {
    try {
      const ort = await loader();
      const session = await ort.InferenceSession.create(probeModel());
      const y = await session.run({ x: new ort.Tensor('float32', Float32Array.from([2]), [1]) });
      await session.release();
      if ((y.y?.data as Float32Array | undefined)?.[0] !== 2) throw new Error('probe model returned a wrong value');
      return { ok: true, version: ort.env?.versions?.common ?? null };
    } catch (err) {
      return { ok: false, reason: `${ORT_PACKAGE} unavailable: ${firstLine(err)}` };
    }
  };
  if (loader !== loadOnnxRuntime) return check();
  defaultAvailability ??= check();
  return defaultAvailability;
}

export interface FeatureExtractorOptions extends Omit<ConvertToOnnxOptions, 'batch'> {
  /** ONNX Runtime intra-op threads (default: all cores). */
  threads?: number;
  /**
   * Let ORT's threads busy-wait between work items (ORT's own default). Off by default here:
   * spinning threads steal the cores from whatever runs beside inference (image decoding during
   * training: slower overall). extractFeatures turns it on for images already in memory, where
   * inference has the machine to itself (10–25 % faster on a quiet 2-core machine).
   */
  spin?: boolean;
  /**
   * Run the session in a worker thread (default true with the default loader): onnxruntime-node
   * runs on the calling JS thread, which blocked the event loop for each batch (≈ 100 ms) and
   * kept JS work (augmentation, event delivery) from overlapping inference.
   */
  inWorker?: boolean;
  /** Injected for tests; defaults to importing onnxruntime-node. */
  loadRuntime?: OrtLoader;
}


export class OnnxRuntimeUnavailableError extends Error {
  readonly code = 'onnxruntime_unavailable';
  constructor(reason: string) {
    super(reason);
    this.name = 'OnnxRuntimeUnavailableError';
  }
}

function checkBatch(batch: Float32Array, n: number, inputShape: number[]): void {
  const per = inputShape.reduce((a, b) => a * b, 1);
  if (!Number.isInteger(n) || n < 1) throw new Error(`feature extractor: n must be a positive integer, got ${n}`);
  if (batch.length !== n * per)
    throw new Error(`feature extractor: batch has ${batch.length} values, expected ${n}×${inputShape.join('×')} = ${n * per}`);
}

/**
 * Runs a (frozen) TF.js layers model in ONNX Runtime: the model is converted once, then each batch
 * is one native session run. Throws OnnxRuntimeUnavailableError when the runtime cannot load, and
 * UnsupportedLayerError for layers with no conversion.
 */
export async function createOnnxFeatureExtractor(model: tf.LayersModel, options: FeatureExtractorOptions = {}): Promise<FeatureExtractor> {
  const loader = options.loadRuntime ?? loadOnnxRuntime;
  const availability = await isOnnxRuntimeAvailable(loader);
  if (!availability.ok) throw new OnnxRuntimeUnavailableError(availability.reason);
  const conversion = convertLayersModelToOnnxDetailed(model, { inputSize: options.inputSize, pool: options.pool, batch: 'dynamic' });
  return extractorFromOnnxBytes(conversion, options);
}

/**
 * A FeatureExtractor over ONNX model bytes whose input is an NHWC float32 batch (an edited user
 * backbone, onnx-edit.ts, or a converted TF.js model): one session, in a worker where possible.
 */
export async function extractorFromOnnxBytes(
  conversion: { bytes: Uint8Array; inputName: string; outputName: string; inputShape: number[]; outputShape: number[] },
  options: Omit<FeatureExtractorOptions, 'inputSize' | 'pool'> = {},
): Promise<FeatureExtractor> {
  const loader = options.loadRuntime ?? loadOnnxRuntime;
  const availability = await isOnnxRuntimeAvailable(loader);
  if (!availability.ok) throw new OnnxRuntimeUnavailableError(availability.reason);
  const threads = Math.max(1, Math.floor(options.threads ?? os.cpus().length));
  const sessionOptions: OrtSessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    executionProviders: ['cpu'],
    extra: { session: { intra_op: { allow_spinning: options.spin ? '1' : '0' }, inter_op: { allow_spinning: options.spin ? '1' : '0' } } },
  };
  // Where the worker cannot start (a loader without worker support, a sandbox), the session runs here.
  const worker =
    (options.inWorker ?? true) && !options.loadRuntime
      ? await WorkerSession.start(conversion.bytes, sessionOptions, conversion.inputName, conversion.outputName).catch(() => null)
      : null;
  const runner = worker ?? (await inThreadSession(await loader(), conversion.bytes, sessionOptions, conversion.inputName, conversion.outputName));
  return {
    engine: 'onnxruntime',
    fallbackReason: null,
    inputShape: conversion.inputShape,
    outputShape: conversion.outputShape,
    async run(batch, n) {
      checkBatch(batch, n, conversion.inputShape);
      return runner.run(batch, [n, ...conversion.inputShape]);
    },
    dispose: () => runner.release(),
  };
}

/** What the extractor needs of a session, in this thread or in a worker (WorkerSession). */
interface BatchRunner {
  run(data: Float32Array, dims: number[]): Promise<Float32Array>;
  release(): Promise<void>;
}

async function inThreadSession(ort: OrtModule, bytes: Uint8Array, options: OrtSessionOptions, inputName: string, outputName: string): Promise<BatchRunner> {
  const session = await ort.InferenceSession.create(bytes, options);
  let released = false;
  return {
    async run(data, dims) {
      if (released) throw new Error('feature extractor: run() after dispose()');
      const result = await session.run({ [inputName]: new ort.Tensor('float32', data, dims) });
      const out = result[outputName]?.data;
      if (!(out instanceof Float32Array)) throw new Error('feature extractor: ONNX Runtime returned no float32 output');
      return out;
    },
    async release() {
      if (released) return;
      released = true;
      await session.release();
    },
  };
}

type WorkerReply =
  | { type: 'ready' }
  | { type: 'result'; id: number; data: Float32Array }
  | { type: 'error'; id: number | null; message: string };

interface WorkerState {
  pending: Map<number, { resolve: (v: Float32Array) => void; reject: (e: Error) => void }>;
  failure: Error | null;
}

/**
 * The worker's listeners hold only this state, never the WorkerSession: so a session whose
 * extractor was dropped can be garbage-collected, and workerRegistry then stops its thread.
 */
function listen(worker: Worker, state: WorkerState): void {
  worker.on('message', (msg: WorkerReply) => {
    if (msg.type !== 'result' && msg.type !== 'error') return;
    const waiter = state.pending.get(msg.id ?? 0);
    if (!waiter) return;
    state.pending.delete(msg.id ?? 0);
    if (state.pending.size === 0) worker.unref();
    if (msg.type === 'result') waiter.resolve(msg.data);
    else waiter.reject(new Error(`ONNX Runtime (worker): ${msg.message}`));
  });
  const fail = (err: Error) => {
    state.failure = err;
    for (const w of state.pending.values()) w.reject(err);
    state.pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`ONNX Runtime worker exited (code ${code})`)));
  // An idle worker must not keep a CLI process alive; one with work pending must (see run()).
  worker.unref();
}

/** An ONNX Runtime session living in a worker thread (ort-worker.mjs). */
class WorkerSession implements BatchRunner {
  private nextId = 1;
  private released: Promise<void> | null = null;
  /** Batches posted and not answered yet: release() lets them finish before it stops the thread. */
  private readonly inFlight = new Set<Promise<Float32Array>>();

  private constructor(
    private readonly worker: Worker,
    private readonly state: WorkerState,
  ) {}

  static async start(bytes: Uint8Array, options: OrtSessionOptions, inputName: string, outputName: string): Promise<WorkerSession> {
    const worker = new Worker(new URL('./ort-worker.mjs', import.meta.url));
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (msg: WorkerReply) => {
        if (msg.type === 'ready') resolve();
        else if (msg.type === 'error') reject(new Error(`ONNX Runtime (worker): ${msg.message}`));
        else return;
        worker.off('message', onMessage);
        worker.off('error', reject);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
    worker.postMessage({ type: 'init', bytes, options, inputName, outputName });
    try {
      await ready;
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    const state: WorkerState = { pending: new Map(), failure: null };
    listen(worker, state);
    const session = new WorkerSession(worker, state);
    workerRegistry.register(session, worker, session);
    return session;
  }

  /** Runs one batch; `data` is copied (the caller keeps reusing its buffer) and moved to the worker. */
  run(data: Float32Array, dims: number[]): Promise<Float32Array> {
    if (this.released) return Promise.reject(new Error('feature extractor: run() after dispose()'));
    if (this.state.failure) return Promise.reject(this.state.failure);
    const id = this.nextId++;
    const copy = data.slice();
    const result = new Promise<Float32Array>((resolve, reject) => {
      this.state.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ type: 'run', id, data: copy, dims }, [copy.buffer]);
    });
    this.inFlight.add(result);
    const settled = () => this.inFlight.delete(result);
    result.then(settled, settled);
    return result;
  }

  release(): Promise<void> {
    this.released ??= (async () => {
      workerRegistry.unregister(this);
      // Terminating the thread inside a native session run aborts the whole process (onnxruntime-node
      // throws a C++ Napi::Error into a thread that can no longer run JS): let running batches finish.
      await Promise.allSettled([...this.inFlight]);
      await this.worker.terminate();
    })();
    return this.released;
  }
}

/** Workers of extractors dropped without dispose() (their model was garbage-collected) are stopped. */
const workerRegistry = new FinalizationRegistry<Worker>((worker) => {
  void worker.terminate();
});

/** The same contract on TF.js (model.predict), for when ONNX Runtime cannot be used. */
export function createTfjsFeatureExtractor(model: tf.LayersModel, options: { pool?: OnnxPooling | null; fallbackReason?: string | null } = {}): FeatureExtractor {
  const inputShape = (model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? 0);
  let outputShape = (model.outputs[0]?.shape ?? []).slice(1).map((d) => d ?? 0);
  if (options.pool) {
    const c = outputShape[outputShape.length - 1] ?? 0;
    outputShape = [options.pool === 'avgmax' ? 2 * c : c];
  }
  return {
    engine: 'tfjs',
    fallbackReason: options.fallbackReason ?? null,
    inputShape,
    outputShape,
    async run(batch, n) {
      checkBatch(batch, n, inputShape);
      const y = tf.tidy(() => {
        const out = model.predict(tf.tensor(batch, [n, ...inputShape])) as tf.Tensor;
        return options.pool ? poolFeatureMap(out as tf.Tensor4D, options.pool) : out;
      });
      try {
        return (await y.data()) as Float32Array;
      } finally {
        y.dispose();
      }
    },
    async dispose() {},
  };
}

/**
 * ONNX Runtime when it loads and the model converts, TF.js otherwise — `engine` and
 * `fallbackReason` say which and why, for logs and the UI.
 */
export async function createFeatureExtractor(model: tf.LayersModel, options: FeatureExtractorOptions = {}): Promise<FeatureExtractor> {
  try {
    return await createOnnxFeatureExtractor(model, options);
  } catch (err) {
    return createTfjsFeatureExtractor(model, { pool: options.pool, fallbackReason: firstLine(err) });
  }
}

interface CachedExtractor {
  weightIds: object[];
  extractor: Promise<FeatureExtractor>;
}

const extractorCache = new WeakMap<tf.LayersModel, Map<string, CachedExtractor>>();

/** Identities of the weights' current storage: assign() (training, setWeights) replaces them. */
function weightIdentity(model: tf.LayersModel): object[] {
  return model.weights.map((w) => w.read().dataId as object);
}

/**
 * createFeatureExtractor, memoised per model and options: the conversion and session are built
 * once and reused across calls, and rebuilt if the model's weights were reassigned since (so a
 * model that keeps training never runs stale weights). Sessions of dropped models go with them.
 */
export function cachedFeatureExtractor(model: tf.LayersModel, options: Omit<FeatureExtractorOptions, 'loadRuntime'> = {}): Promise<FeatureExtractor> {
  const key = JSON.stringify([options.inputSize ?? null, options.pool ?? null, options.threads ?? null, options.spin ?? false]);
  let perModel = extractorCache.get(model);
  if (!perModel) {
    perModel = new Map();
    extractorCache.set(model, perModel);
  }
  const ids = weightIdentity(model);
  const hit = perModel.get(key);
  if (hit && hit.weightIds.length === ids.length && hit.weightIds.every((id, i) => id === ids[i])) return hit.extractor;
  if (hit) void hit.extractor.then((fx) => fx.dispose()).catch(() => {});
  const extractor = createFeatureExtractor(model, options);
  perModel.set(key, { weightIds: ids, extractor });
  return extractor;
}

/**
 * Stops the ONNX Runtime sessions (and their worker threads) memoised for `model` now, rather than
 * whenever the garbage collector gets to the model: for a runner dropping models it no longer caches.
 */
export async function releaseCachedExtractors(model: tf.LayersModel): Promise<void> {
  const perModel = extractorCache.get(model);
  if (!perModel) return;
  extractorCache.delete(model);
  await Promise.allSettled([...perModel.values()].map((c) => c.extractor.then((fx) => fx.dispose())));
}

/** Writes the model as an .onnx file (deployment format); returns the file path and size. */
export async function exportOnnx(model: tf.LayersModel, file: string, options: ConvertToOnnxOptions = {}): Promise<{ path: string; bytes: number }> {
  const { bytes } = convertLayersModelToOnnxDetailed(model, options);
  const target = path.resolve(file);
  await fs.mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  await fs.writeFile(tmp, bytes);
  await fs.rename(tmp, target);
  return { path: target, bytes: bytes.length };
}
