import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
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
const SAMPLE_ROWS = 12_288;
/** Power iterations of the randomized range finder (enough for the leading subspace, not exact eigenvectors). */
const POWER_ITERATIONS = 6;

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
export function fitChannelProjection(
  parts: { x: Float32Array; y: ArrayLike<number> }[],
  positions: number,
  channels: number,
  dims: number,
  seed = 42,
): ChannelProjection {
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
  const sample = new Float32Array(rows.length * channels);
  for (const [i, [k, r]] of rows.entries()) sample.set((parts[k] as { x: Float32Array }).x.subarray(r * channels, (r + 1) * channels), i * channels);
  const basis = tf.tidy(() => {
    const a = tf.tensor2d(sample, [rows.length, channels]);
    const centred = tf.sub(a, tf.mean(a, 0, true));
    const cov = tf.matMul(centred, centred, true, false);
    let q = orthonormalize(tf.randomNormal([channels, dims], 0, 1, 'float32', seed).arraySync() as number[][], channels, dims);
    for (let it = 0; it < POWER_ITERATIONS; it++) {
      const z = tf.matMul(cov, tf.tensor2d(q, [channels, dims])).dataSync() as Float32Array;
      q = orthonormalize(z, channels, dims);
    }
    return q;
  });
  return { matrix: basis, channels, dims };
}

/** Modified Gram–Schmidt on the columns of a [rows, cols] matrix (given as nested arrays or row-major). */
function orthonormalize(m: number[][] | Float32Array, rows: number, cols: number): Float32Array {
  const a = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) a[r * cols + c] = Array.isArray(m) ? (m[r]?.[c] as number) : (m[r * cols + c] as number);
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

/** Rows of `channels` values → rows of `dims` values (ONNX Runtime GEMM, in chunks so the event loop breathes). */
export async function projectChannels(x: Float32Array, p: ChannelProjection, signal?: AbortSignal): Promise<Float32Array> {
  const { ort, session } = await projectorSession();
  const rows = x.length / p.channels;
  const out = new Float32Array(rows * p.dims);
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
