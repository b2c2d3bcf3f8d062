import type { Pooling } from '../model/features.ts';
import { GraphBuilder } from './graph-builder.ts';
import { encodeOnnxModel, type OnnxValueInfo } from './onnx-proto.ts';

/** The spatial head as the training graphs see it: 1×1 conv → batch norm → ReLU → pooling → dense softmax. */
export interface SpatialHeadShape {
  /** Positions of the feature map (h·w). */
  positions: number;
  /** Channels of the feature map. */
  channels: number;
  /** 1×1 convolution filters. */
  filters: number;
  pooling: Pooling;
  classes: number;
  /** Batch-norm epsilon (the TF.js layer's). */
  epsilon: number;
}

/** Length of the pooled vector that reaches the dense layer. */
export function spatialPooledSize(s: Pick<SpatialHeadShape, 'filters' | 'pooling'>): number {
  return s.pooling === 'avgmax' ? 2 * s.filters : s.filters;
}

/**
 * The gradients of one training step of the spatial head as one ONNX graph: ORT's GEMMs do the
 * 1×1 convolution (a [B·P, C] × [C, F] product) forward and for its weight gradient, which is
 * where the time goes; the optimizer update stays in the wasm SIMD loop.
 *
 * Inputs: `x` [B, P, C] boundary activations, `mask` [B, D] dropout mask on the pooled vector
 * (0 or 1/(1−rate)), `target` [B, K] = wᵢ·onehot/B, `rowWeight` [B, 1] = wᵢ/B, then the parameters
 * `wc` [C, F], `gamma` [F], `beta` [F], `wd` [D, K], `bd` [K].
 * Outputs: `probs`, the gradients `g_wc`, `g_gamma`, `g_beta`, `g_wd`, `g_bd`, and the batch
 * statistics `batch_mean`, `batch_var` [F] (batch norm in training mode normalises over B·P).
 */
export function buildSpatialGradients(s: SpatialHeadShape): Uint8Array {
  const g = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [{ name: 'x', dims: ['B', s.positions, s.channels] }, ...spatialTrainingInputs(s)];
  for (const i of inputs) g.unique(i.name);
  const t = addSpatialTraining(g, s, 'x');
  const graph = g.build('spatial_gradients', inputs, spatialTrainingOutputs(s, t));
  return encodeOnnxModel({ producerName: 'defectflow', producerVersion: '0.1.0', graph });
}

/** The training graph's inputs after `x`: dropout mask, targets, row weights, then the head's parameters. */
export function spatialTrainingInputs(s: SpatialHeadShape): OnnxValueInfo[] {
  return [
    { name: 'mask', dims: ['B', spatialPooledSize(s)] },
    { name: 'target', dims: ['B', s.classes] },
    { name: 'rowWeight', dims: ['B', 1] },
    ...parameterInputs(s),
  ];
}

/** Names of what addSpatialTraining computes. */
export interface SpatialTraining {
  probs: string;
  g_wc: string;
  g_gamma: string;
  g_beta: string;
  g_wd: string;
  g_bd: string;
  batch_mean: string;
  batch_var: string;
  /** dL/dx [B, P, C]: what backpropagation into layers below the head starts from. */
  dx: string;
}

/** probs, the five gradients and the batch statistics as graph outputs (dx is not one). */
export function spatialTrainingOutputs(s: SpatialHeadShape, t: SpatialTraining): OnnxValueInfo[] {
  return [
    { name: t.probs, dims: ['B', s.classes] },
    { name: t.g_wc, dims: [s.channels, s.filters] },
    { name: t.g_gamma, dims: [s.filters] },
    { name: t.g_beta, dims: [s.filters] },
    { name: t.g_wd, dims: [spatialPooledSize(s), s.classes] },
    { name: t.g_bd, dims: [s.classes] },
    { name: t.batch_mean, dims: [s.filters] },
    { name: t.batch_var, dims: [s.filters] },
  ];
}

/**
 * Forward and backward of one training step of the spatial head on `x` [B, P, C], reading the
 * inputs named by spatialTrainingInputs. The graph keeps only what its outputs need, so `dx`
 * costs nothing unless a caller continues backpropagation from it.
 */
export function addSpatialTraining(g: GraphBuilder, s: SpatialHeadShape, x: string): SpatialTraining {
  const zero = g.constFloat([0], [1]);
  const axes01 = [{ name: 'axes', ints: [0, 1] }];
  const keep = { name: 'keepdims', i: 1 };

  // Forward, keeping what the backward pass needs.
  const z = g.node('MatMul', [x, 'wc'], 'z');
  const mean = g.node('ReduceMean', [z], 'mean', [...axes01, keep]);
  const centred = g.node('Sub', [z, mean], 'centred');
  const variance = g.node('ReduceMean', [g.node('Mul', [centred, centred], 'sq')], 'variance', [...axes01, keep]);
  const inv = g.node('Reciprocal', [g.node('Sqrt', [g.node('Add', [variance, g.constFloat([s.epsilon], [1])], 'var_eps')], 'std')], 'inv_std');
  const xhat = g.node('Mul', [centred, inv], 'xhat');
  const bn = g.node('Add', [g.node('Mul', [xhat, 'gamma'], 'scaled'), 'beta'], 'bn');
  const act = g.node('Relu', [bn], 'act');
  const { pooled, max } = addPooling(g, act, s.pooling);
  const h = g.node('Mul', [pooled, 'mask'], 'h');
  const probs = g.node('Softmax', [g.node('Gemm', [h, 'wd', 'bd'], 'logits')], 'probs', [{ name: 'axis', i: 1 }]);

  // Backward: cross-entropy → dense → dropout → pooling → ReLU → batch norm → 1×1 conv weights.
  const dlogits = g.node('Sub', [g.node('Mul', [probs, 'rowWeight'], 'p_weighted'), 'target'], 'dlogits');
  const gwd = g.node('Gemm', [h, dlogits], 'g_wd', [{ name: 'transA', i: 1 }]);
  const gbd = g.node('ReduceSum', [dlogits, g.constInt64([0])], 'g_bd', [{ name: 'keepdims', i: 0 }]);
  const dpooled = g.node('Mul', [g.node('Gemm', [dlogits, 'wd', zero], 'dh', [{ name: 'transB', i: 1 }]), 'mask'], 'dpooled');
  const dact = addPoolingGradient(g, s, act, max, dpooled);
  const dbn = g.node('Where', [g.node('Greater', [bn, zero], 'active'), dact, zero], 'dbn');
  const sum01 = (v: string, name: string) => g.node('ReduceSum', [v, g.constInt64([0, 1])], name, [{ name: 'keepdims', i: 0 }]);
  const ggamma = sum01(g.node('Mul', [dbn, xhat], 'dbn_xhat'), 'g_gamma');
  const gbeta = sum01(dbn, 'g_beta');
  // dz = inv·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)), with dx̂ = dbn·γ.
  const dxhat = g.node('Mul', [dbn, 'gamma'], 'dxhat');
  const m1 = g.node('ReduceMean', [dxhat], 'dxhat_mean', [...axes01, keep]);
  const m2 = g.node('ReduceMean', [g.node('Mul', [dxhat, xhat], 'dxhat_xhat')], 'dxhat_xhat_mean', [...axes01, keep]);
  const dz = g.node('Mul', [g.node('Sub', [g.node('Sub', [dxhat, m1], 'dz_a'), g.node('Mul', [xhat, m2], 'dz_b')], 'dz_c'), inv], 'dz');
  const flatX = g.node('Reshape', [x, g.constInt64([-1, s.channels])], 'x_rows');
  const flatDz = g.node('Reshape', [dz, g.constInt64([-1, s.filters])], 'dz_rows');
  const gwc = g.node('Gemm', [flatX, flatDz], 'g_wc', [{ name: 'transA', i: 1 }]);
  const dxRows = g.node('Gemm', [flatDz, 'wc', zero], 'dx_rows', [{ name: 'transB', i: 1 }]);
  const dx = g.node('Reshape', [dxRows, g.constInt64([-1, s.positions, s.channels])], 'dx');
  const batchMean = g.node('Reshape', [mean, g.constInt64([s.filters])], 'batch_mean');
  const batchVar = g.node('Reshape', [variance, g.constInt64([s.filters])], 'batch_var');
  return { probs, g_wc: gwc, g_gamma: ggamma, g_beta: gbeta, g_wd: gwd, g_bd: gbd, batch_mean: batchMean, batch_var: batchVar, dx };
}

/**
 * Inference pass: `x` [B, P, C] and the parameters, with batch norm folded into `scale`/`shift`
 * [F] (γ/√(σ²+ε) and β − μ·scale from the moving statistics) → `probs` [B, K].
 */
export function buildSpatialForward(s: SpatialHeadShape): Uint8Array {
  const g = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [{ name: 'x', dims: ['B', s.positions, s.channels] }, ...spatialForwardInputs(s)];
  for (const i of inputs) g.unique(i.name);
  const probs = addSpatialForward(g, s, 'x');
  const graph = g.build('spatial_forward', inputs, [{ name: probs, dims: ['B', s.classes] }]);
  return encodeOnnxModel({ producerName: 'defectflow', producerVersion: '0.1.0', graph });
}

/** The inference graph's parameter inputs: `wc`, folded batch norm `scale`/`shift`, `wd`, `bd`. */
export function spatialForwardInputs(s: SpatialHeadShape): OnnxValueInfo[] {
  return [
    { name: 'wc', dims: [s.channels, s.filters] },
    { name: 'scale', dims: [s.filters] },
    { name: 'shift', dims: [s.filters] },
    { name: 'wd', dims: [spatialPooledSize(s), s.classes] },
    { name: 'bd', dims: [s.classes] },
  ];
}

/** The head's inference pass on `x` [B, P, C] → the name of `probs` [B, K]. */
export function addSpatialForward(g: GraphBuilder, s: SpatialHeadShape, x: string): string {
  const z = g.node('MatMul', [x, 'wc'], 'z');
  const act = g.node('Relu', [g.node('Add', [g.node('Mul', [z, 'scale'], 'scaled'), 'shift'], 'bn')], 'act');
  const { pooled } = addPooling(g, act, s.pooling);
  return g.node('Softmax', [g.node('Gemm', [pooled, 'wd', 'bd'], 'logits')], 'probs', [{ name: 'axis', i: 1 }]);
}

function parameterInputs(s: SpatialHeadShape): OnnxValueInfo[] {
  return [
    { name: 'wc', dims: [s.channels, s.filters] },
    { name: 'gamma', dims: [s.filters] },
    { name: 'beta', dims: [s.filters] },
    { name: 'wd', dims: [spatialPooledSize(s), s.classes] },
    { name: 'bd', dims: [s.classes] },
  ];
}

/** Global pooling over positions, [B, P, F] → [B, D]; avg+max concatenated in that order (as the TF.js head). */
function addPooling(g: GraphBuilder, act: string, pooling: Pooling): { pooled: string; max: string | null } {
  const over = [{ name: 'axes', ints: [1] }, { name: 'keepdims', i: 0 }];
  const avg = pooling === 'max' ? null : g.node('ReduceMean', [act], 'pool_avg', over);
  const max = pooling === 'avg' ? null : g.node('ReduceMax', [act], 'pool_max', over);
  if (avg && max) return { pooled: g.node('Concat', [avg, max], 'pooled', [{ name: 'axis', i: 1 }]), max };
  return { pooled: (avg ?? max) as string, max };
}

/**
 * dL/d(activations) [B, P, F] from dL/d(pooled) [B, D]: the average spreads its gradient evenly
 * over the positions, the maximum sends it to every position equal to the maximum (as TF.js does).
 */
function addPoolingGradient(g: GraphBuilder, s: SpatialHeadShape, act: string, max: string | null, dpooled: string): string {
  const axis1 = g.constInt64([1]);
  const slice = (from: number, to: number, name: string) =>
    g.node('Slice', [dpooled, g.constInt64([from]), g.constInt64([to]), axis1], name);
  const f = s.filters;
  const davg = s.pooling === 'max' ? null : s.pooling === 'avg' ? dpooled : slice(0, f, 'd_avg');
  const dmax = s.pooling === 'avg' ? null : s.pooling === 'max' ? dpooled : slice(f, 2 * f, 'd_max');
  const parts: string[] = [];
  if (davg) parts.push(g.node('Mul', [g.node('Unsqueeze', [davg, axis1], 'd_avg_1'), g.constFloat([1 / s.positions], [1])], 'dact_avg'));
  if (dmax && max) {
    const argmax = g.node('Cast', [g.node('Equal', [act, g.node('Unsqueeze', [max, axis1], 'max_1')], 'at_max')], 'at_max_f', [{ name: 'to', i: 1 }]);
    parts.push(g.node('Mul', [argmax, g.node('Unsqueeze', [dmax, axis1], 'd_max_1')], 'dact_max'));
  }
  // An avg-only gradient stays [B,1,F]: the ReLU gradient's Where broadcasts it over the positions.
  return parts.length === 2 ? g.node('Add', [parts[1] as string, parts[0] as string], 'dact') : (parts[0] as string);
}
