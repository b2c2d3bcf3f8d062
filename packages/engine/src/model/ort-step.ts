import { isOnnxRuntimeAvailable, loadOnnxRuntime, type OrtModule, type OrtSession, type OrtSessionOptions } from '../onnx/runtime.ts';
import { SimdOptimizer } from './simd-optimizer.ts';
import type { OptimizerName } from './stepper.ts';

/** The two sessions of a head trained in ONNX Runtime: one step's forward + gradients, and inference. */
export interface StepSessions {
  ort: OrtModule;
  gradients: OrtSession;
  forward: OrtSession;
}

/**
 * Sessions per head shape (`key`). They hold no weights (parameters are graph inputs), so one pair
 * serves every head of that shape, in every run, for the life of the process: building them costs
 * more than a short training run's steps.
 */
const sessionCache = new Map<string, Promise<Record<string, OrtSession> & { ort: OrtModule }>>();

export function stepSessions(key: string, threads: number, graphs: () => { gradients: Uint8Array; forward: Uint8Array }): Promise<StepSessions> {
  return namedSessions(key, threads, graphs) as Promise<StepSessions>;
}

/** Sessions for several graphs under one cache key (the fine-tuning stepper has three). */
export function namedSessions<K extends string>(key: string, threads: number, graphs: () => Record<K, Uint8Array>): Promise<Record<K, OrtSession> & { ort: OrtModule }> {
  let hit = sessionCache.get(key);
  if (!hit) {
    hit = (async () => {
      const ort = await loadOnnxRuntime();
      const options: OrtSessionOptions = {
        graphOptimizationLevel: 'all',
        intraOpNumThreads: threads,
        interOpNumThreads: 1,
        executionMode: 'sequential',
        executionProviders: ['cpu'],
        extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
      };
      const bytes = graphs() as Record<string, Uint8Array>;
      const names = Object.keys(bytes);
      const sessions = await Promise.all(names.map((n) => ort.InferenceSession.create(bytes[n] as Uint8Array, options)));
      return { ort, ...Object.fromEntries(names.map((n, i) => [n, sessions[i] as OrtSession])) } as Record<string, OrtSession> & { ort: OrtModule };
    })();
    hit.catch(() => sessionCache.delete(key));
    sessionCache.set(key, hit);
  }
  return hit as Promise<Record<K, OrtSession> & { ort: OrtModule }>;
}

/**
 * What an ORT stepper needs before its first step — ONNX Runtime, a wasm SIMD arena of arrays of
 * `sizes`, its sessions — or why it cannot run here (its caller then trains on a TF.js path).
 */
export async function prepareStepRuntime<S = StepSessions>(
  sizes: number[],
  sessions: () => Promise<S>,
): Promise<{ simd: SimdOptimizer; sessions: S } | { reason: string }> {
  const availability = await isOnnxRuntimeAvailable();
  if (!availability.ok) return { reason: availability.reason };
  const simd = SimdOptimizer.create(sizes);
  if (!simd) return { reason: 'WebAssembly SIMD is unavailable' };
  try {
    return { simd, sessions: await sessions() };
  } catch (err) {
    return { reason: `onnxruntime session: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}` };
  }
}

/** Class-weighted cross-entropy (mean over the batch) and hits of a batch's probabilities, rows × k. */
export function scoreBatch(p: Float32Array, y: ArrayLike<number>, w: ArrayLike<number>, k: number): { loss: number; hits: number } {
  let loss = 0;
  let hits = 0;
  for (let i = 0; i < y.length; i++) {
    const c = y[i] as number;
    let arg = 0;
    for (let j = 1; j < k; j++) if ((p[i * k + j] as number) > (p[i * k + arg] as number)) arg = j;
    if (arg === c) hits++;
    loss -= (w[i] as number) * Math.log(Math.max(1e-7, p[i * k + c] as number));
  }
  return { loss: loss / Math.max(1, y.length), hits };
}

/** A parameter with its optimizer state and gradient, all views into the SIMD arena. */
export interface ArenaParam {
  p: Float32Array;
  m: Float32Array;
  v: Float32Array;
  g: Float32Array;
}

/**
 * One optimizer update of every parameter, `t` being the 1-based step: Adam with its bias
 * corrections folded into the step size and epsilon (as tf.train.adam does), or momentum 0.9.
 */
export function updateParams(simd: SimdOptimizer, optimizer: OptimizerName, t: number, lr: number, params: ArenaParam[]): void {
  const c1 = 1 - 0.9 ** t;
  const sc2 = Math.sqrt(1 - 0.999 ** t);
  for (const q of params) {
    if (optimizer === 'adam') simd.adam(q.p, q.m, q.v, q.g, (lr * sc2) / c1, 1e-7 * sc2);
    else simd.momentum(q.p, q.m, q.g, lr);
  }
}
