/**
 * Types shared by onnx/runtime.ts and model/features.ts, in a module of their own (no imports) so that
 * features.ts needs no import of runtime.ts, which imports features.ts (poolFeatureMap).
 */

/**
 * The part of onnxruntime-node onnx/runtime.ts uses, typed here so that the package stays optional:
 * the engine typechecks and runs (on TF.js) where it is absent or its native binary fails to load.
 */
export interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
export interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
export interface OrtSessionOptions {
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  executionMode?: 'sequential' | 'parallel';
  executionProviders?: string[];
  enableCpuMemArena?: boolean;
  enableMemPattern?: boolean;
  extra?: Record<string, unknown>;
}
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: OrtSessionOptions): Promise<OrtSession> };
  Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  env?: { versions?: { common?: string } };
}
export type OrtLoader = () => Promise<OrtModule>;

/** Runs the frozen model over batches of images: ONNX Runtime when available, else TF.js. */
export interface FeatureExtractor {
  engine: 'onnxruntime' | 'tfjs';
  /** Why ONNX Runtime is not used (engine 'tfjs'); null otherwise. */
  fallbackReason: string | null;
  /** One input item without the batch ([H,W,C]). */
  inputShape: number[];
  /** One output item without the batch (TF.js order; [C] or [2C] when pooled). */
  outputShape: number[];
  /** `batch` holds n items back to back (NHWC, as the TF.js model takes them); returns n outputs back to back. */
  run(batch: Float32Array, n: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}

/**
 * A frozen feature extractor that is not a TF.js model: an imported ONNX backbone cut at a tensor
 * (model/onnx-backbone.ts). Takes NHWC float 0..255 images like the TF.js one and returns NHWC maps
 * (or pooled vectors), so everything downstream is the same.
 */
export interface FrozenGraph {
  kind: 'onnx-graph';
  /** One input image without the batch: [S, S, 3]. */
  inputShape: number[];
  /** One output map without the batch, NHWC. */
  outputShape: number[];
  /** A memoised extractor for this pooling (owned by the graph: callers do not dispose it). */
  extractor(options: { pool: 'avg' | 'max' | 'avgmax' | null; threads: number; spin: boolean }): Promise<FeatureExtractor>;
}

export function isFrozenGraph(v: unknown): v is FrozenGraph {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'onnx-graph';
}
