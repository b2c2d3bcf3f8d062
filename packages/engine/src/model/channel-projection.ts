import os from 'node:os';
import { GraphBuilder } from '../onnx/graph-builder.ts';
import { encodeOnnxModel } from '../onnx/onnx-proto.ts';
import { loadOnnxRuntime, type OrtModule, type OrtSession } from '../onnx/runtime.ts';
import { createRng } from '../data/rng.ts';

/**
 * Channels the spatial head trains on when the map has more. The head's 1×1 convolution is
 * linear, so training it on the map's top principal directions and folding the projection into
 * its kernel afterwards (kernel = P·W) gives an ordinary conv on the full map at export; batch norm
 * after it removes any constant offset, so the projection need not be centred. It cuts the
 * training cost and the memory of the cached maps 4.5× at 576 channels (see BENCHMARKS).
 */
export const SPATIAL_PROJECTION_DIMS = 128;

/** Rows (positions) sampled to estimate the channel covariance. */
const SAMPLE_ROWS = 8_192;
/** Power iterations of the randomized range finder (enough for the leading subspace, not exact eigenvectors). */
const POWER_ITERATIONS = 4;

export interface ChannelProjection {
  /** [channels, dims] with orthonormal columns, row-major. */
  matrix: Float32Array;
  channels: number;
  dims: number;
}

/**
 * The top-`dims` principal directions of the channels of feature maps (rows of `channels`
 * values), from positions sampled evenly across classes so a rare defect class weighs as much as
 * the common good one. Randomized subspace iteration, seeded.
 */
export async function fitChannelProjection(
  parts: { x: Float32Array; y: ArrayLike<number> }[],
  positions: number,
  channels: number,
  dims: number,
  seed = 42,
): Promise<ChannelProjection> {
  const rng = createRng(seed);
  const rand = () => rng.next();
  // Items as (part, row) pairs, grouped by class.
  const byClass = new Map<number, [number, number][]>();
  parts.forEach((part, k) => {
    for (let i = 0; i < part.y.length; i++) {
      const c = part.y[i] as number;
      const list = byClass.get(c) ?? [];
      list.push([k, i]);
      byClass.set(c, list);
    }
  });
  const perClass = Math.max(1, Math.floor(SAMPLE_ROWS / Math.max(1, byClass.size)));
  const rows: [number, number][] = [];
  for (const items of byClass.values()) {
    for (let s = 0; s < perClass; s++) {
      const [k, item] = items[Math.floor(rand() * items.length)] as [number, number];
      rows.push([k, item * positions + Math.floor(rand() * positions)]);
    }
  }
  // The sample, centred and transposed ([channels, rows]), so one GEMM gives the covariance.
  const m = rows.length;
  const mean = new Float64Array(channels);
  for (const [k, r] of rows) {
    const x = (parts[k] as { x: Float32Array }).x;
    for (let ch = 0; ch < channels; ch++) mean[ch] = (mean[ch] as number) + (x[r * channels + ch] as number) / m;
  }
  const sampleT = new Float32Array(channels * m);
  const sample = new Float32Array(m * channels);
  for (const [i, [k, r]] of rows.entries()) {
    const x = (parts[k] as { x: Float32Array }).x;
    for (let ch = 0; ch < channels; ch++) {
      const v = (x[r * channels + ch] as number) - (mean[ch] as number);
      sample[i * channels + ch] = v;
      sampleT[ch * m + i] = v;
    }
  }
  const cov = await matMul(sampleT, sample, channels, m, channels);
  const rng2 = createRng(seed + 1);
  let basis = orthonormalize(Float32Array.from({ length: channels * dims }, () => rng2.normal()), channels, dims);
  for (let it = 0; it < POWER_ITERATIONS; it++) basis = orthonormalize(await matMul(cov, basis, channels, channels, dims), channels, dims);
  return { matrix: basis, channels, dims };
}

/** Modified Gram–Schmidt on the columns of a row-major [rows, cols] matrix. */
function orthonormalize(m: Float32Array, rows: number, cols: number): Float32Array {
  const a = Float64Array.from(m);
  for (let c = 0; c < cols; c++) {
    for (let p = 0; p < c; p++) {
      let dot = 0;
      for (let r = 0; r < rows; r++) dot += (a[r * cols + c] as number) * (a[r * cols + p] as number);
      for (let r = 0; r < rows; r++) a[r * cols + c] = (a[r * cols + c] as number) - dot * (a[r * cols + p] as number);
    }
    let norm = 0;
    for (let r = 0; r < rows; r++) norm += (a[r * cols + c] as number) ** 2;
    norm = Math.sqrt(norm) || 1;
    for (let r = 0; r < rows; r++) a[r * cols + c] = (a[r * cols + c] as number) / norm;
  }
  return Float32Array.from(a);
}

let projector: Promise<{ ort: OrtModule; session: OrtSession }> | null = null;

/** One ORT session for x [N, C] · p [C, D] (shapes are symbolic, so every projection shares it). */
function projectorSession(): Promise<{ ort: OrtModule; session: OrtSession }> {
  projector ??= (async () => {
    const ort = await loadOnnxRuntime();
    const g = new GraphBuilder();
    for (const name of ['x', 'p']) g.unique(name);
    const y = g.node('MatMul', ['x', 'p'], 'y');
    const bytes = encodeOnnxModel({
      producerName: 'defectflow',
      producerVersion: '0.1.0',
      graph: g.build('channel_projection', [{ name: 'x', dims: ['N', 'C'] }, { name: 'p', dims: ['C', 'D'] }], [{ name: y, dims: ['N', 'D'] }]),
    });
    const session = await ort.InferenceSession.create(bytes, {
      graphOptimizationLevel: 'all',
      intraOpNumThreads: Math.max(1, os.cpus().length),
      interOpNumThreads: 1,
      executionMode: 'sequential',
      executionProviders: ['cpu'],
    });
    return { ort, session };
  })();
  projector.catch(() => {
    projector = null;
  });
  return projector;
}

/** a [n, k] · b [k, m] in ONNX Runtime (the covariance and power iterations: GFLOPs that TF.js wasm takes seconds for). */
async function matMul(a: Float32Array, b: Float32Array, n: number, k: number, m: number): Promise<Float32Array> {
  const { ort, session } = await projectorSession();
  const res = await session.run({ x: new ort.Tensor('float32', a, [n, k]), p: new ort.Tensor('float32', b, [k, m]) });
  return res.y?.data as Float32Array;
}

/** Rows of `channels` values → rows of `dims` values (ONNX Runtime GEMM, in chunks so the event loop breathes), optionally into `into`. */
export async function projectChannels(x: Float32Array, p: ChannelProjection, signal?: AbortSignal, into?: Float32Array): Promise<Float32Array> {
  const { ort, session } = await projectorSession();
  const rows = x.length / p.channels;
  // `into` (a view into a larger array) saves a copy of the projected maps.
  const out = into ?? new Float32Array(rows * p.dims);
  if (out.length !== rows * p.dims) throw new Error(`projectChannels: output has ${out.length} values, expected ${rows * p.dims}`);
  const chunk = 16_384;
  const weights = new ort.Tensor('float32', p.matrix, [p.channels, p.dims]);
  for (let s = 0; s < rows; s += chunk) {
    if (signal?.aborted) throw new Error('cancelled');
    const e = Math.min(rows, s + chunk);
    const res = await session.run({ x: new ort.Tensor('float32', x.subarray(s * p.channels, e * p.channels), [e - s, p.channels]), p: weights });
    out.set(res.y?.data as Float32Array, s * p.dims);
  }
  return out;
}

/** W_full [C, F] = P [C, D] · W [D, F]: the projected kernel as a kernel on the full map. */
export function unprojectKernel(p: ChannelProjection, w: Float32Array, filters: number): Float32Array {
  const out = new Float32Array(p.channels * filters);
  for (let c = 0; c < p.channels; c++) {
    for (let d = 0; d < p.dims; d++) {
      const v = p.matrix[c * p.dims + d] as number;
      if (v === 0) continue;
      for (let f = 0; f < filters; f++) out[c * filters + f] = (out[c * filters + f] as number) + v * (w[d * filters + f] as number);
    }
  }
  return out;
}

/** W [D, F] = Pᵀ [D, C] · W_full [C, F]: a full-map kernel's best approximation in the subspace (the initial kernel). */
export function projectKernel(p: ChannelProjection, wFull: Float32Array, filters: number): Float32Array {
  const out = new Float32Array(p.dims * filters);
  for (let c = 0; c < p.channels; c++) {
    for (let d = 0; d < p.dims; d++) {
      const v = p.matrix[c * p.dims + d] as number;
      for (let f = 0; f < filters; f++) out[d * filters + f] = (out[d * filters + f] as number) + v * (wFull[c * filters + f] as number);
    }
  }
  return out;
}
