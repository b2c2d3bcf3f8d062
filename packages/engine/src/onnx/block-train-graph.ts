import type * as tf from '@tensorflow/tfjs';
import { type Call, callsFor } from './convert.ts';
import { GraphBuilder } from './graph-builder.ts';
import { samePads } from './layers.ts';
import { encodeOnnxModel, type OnnxValueInfo } from './onnx-proto.ts';
import {
  addSpatialForward,
  addSpatialTraining,
  type SpatialHeadShape,
  spatialForwardInputs,
  spatialTrainingInputs,
  spatialTrainingOutputs,
} from './spatial-train-graph.ts';

/**
 * Training graphs for unfrozen backbone blocks (MobileNetV2's inverted residuals) with the spatial
 * head on top: the forward pass keeps its activations, the backward pass is written out as ONNX ops,
 * and one session run returns the loss's probabilities and the gradient of every trained tensor.
 *
 * Layout: maps stay NHWC ([B, H, W, C], as the feature cache stores them), so a 1×1 convolution is
 * one [B·H·W, Cin] × [Cin, Cout] GEMM forward, one for its input gradient (× Wᵀ) and one for its
 * weight gradient (Xᵀ × dY); the depthwise 3×3 convolutions, a tenth of the work, go through NCHW
 * for ORT's grouped Conv (forward) and ConvTranspose (input gradient), their weight gradient a
 * per-offset product of shifted activations with the output gradient summed over batch and space.
 *
 * Batch norm runs in inference mode with the moving statistics frozen (fine-tuning practice on small
 * data: batch statistics of 32 images would wreck them, and the exported model uses the moving
 * ones). γ and β stay trainable, as in Keras and the TF.js autodiff path: they cost nothing here,
 * because the statistics and γ fold into the convolution's weights inside the graph
 * (W·γ/√(σ²+ε), bias β − μ·γ/√(σ²+ε)), so the maps see one convolution per conv+BN pair in both passes.
 */

/** A trained tensor of the blocks: a graph input each step, its gradient a graph output. */
export interface BlockParam {
  /** Graph input name. */
  name: string;
  /** Graph output with its gradient. */
  grad: string;
  /** Layer and index in layer.getWeights() that the tensor is read from and written back to. */
  layer: string;
  index: number;
  /** TF.js shape (the graph takes the TF.js layout). */
  shape: number[];
}

/** A frozen tensor fed every run: batch-norm moving mean, and 1/√(σ²+ε). */
export interface BlockConstant {
  name: string;
  layer: string;
  kind: 'mean' | 'rstd';
  shape: number[];
}

/** One graph with the names of its inputs, in the order the stepper feeds them. */
export interface BuiltGraph {
  bytes: Uint8Array;
  inputs: string[];
  outputs: string[];
}

export interface BlockTrainGraphs {
  /** A fine-tuning step: probs, the head's gradients and batch statistics, every block gradient. */
  finetune: BuiltGraph;
  /** A head-only step: the blocks forward (inference), the head's gradients and batch statistics. */
  head: BuiltGraph;
  /** Inference: blocks, then the head with batch norm folded (scale/shift inputs). */
  forward: BuiltGraph;
  /** The blocks alone (inference): `x` → their output [B, h, w, c], the head's input maps. */
  blocks: BuiltGraph;
  /** The spatial head on the blocks' output, for the head graphs that take those maps as `x`. */
  headShape: SpatialHeadShape;
  params: BlockParam[];
  constants: BlockConstant[];
  /** What the blocks produce, [h, w, c]: the spatial head's input. */
  outputShape: number[];
  /** Names of the head's outputs in the training graphs (probs, g_wc, …, batch_var). */
  headOutputs: { probs: string; g_wc: string; g_gamma: string; g_beta: string; g_wd: string; g_bd: string; batch_mean: string; batch_var: string };
}

/** Thrown when the blocks hold a layer (or setting) the training graph has no backward pass for. */
export class UnsupportedTrainingLayerError extends Error {
  constructor(layer: string, className: string, detail: string) {
    super(`fine-tuning graph: layer "${layer}" (${className}) ${detail}`);
    this.name = 'UnsupportedTrainingLayerError';
  }
}

/** A value of the blocks' forward pass: NHWC [-1, h, w, c]. */
interface Val {
  name: string;
  shape: number[];
  /** A convolution not yet emitted: the batch-norm layer reading it emits both, folded. */
  conv?: PendingConv;
  /** ZeroPadding2D: the next (valid) depthwise convolution absorbs the pads. */
  zeroPad?: { source: Val; pads: [number, number, number, number] };
}

interface PendingConv {
  kind: 'pointwise' | 'depthwise';
  layer: string;
  x: Val;
  kernel: string;
  kernelShape: number[];
  strides: [number, number];
  /** top, left, bottom, right */
  pads: [number, number, number, number];
  outShape: number[];
}

/** A forward op and how it turns its output gradient into input gradients (null: no gradient). */
interface TapeEntry {
  inputs: Val[];
  output: Val;
  backward(dy: string): (string | null)[];
}

function pair(v: unknown, fallback: number): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  return [fallback, fallback];
}

/** What the blocks add to a GraphBuilder: their forward pass, its tape, parameters and constants. */
interface EmittedBlocks {
  output: Val;
  tape: TapeEntry[];
  params: BlockParam[];
  constants: BlockConstant[];
  inputs: OnnxValueInfo[];
}

/**
 * Emits the forward pass of `model` (the trainable tail of the backbone) on `x` into `g`. Supported:
 * 1×1 Conv2D and DepthwiseConv2D without bias, each followed by BatchNormalization; ReLU / ReLU6
 * (layer or activation), Add, ZeroPadding2D before a valid depthwise convolution.
 */
function emitBlocks(g: GraphBuilder, model: tf.LayersModel, x: Val): EmittedBlocks {
  const values = new Map<number, Val>();
  const stopAt = new Set<number>();
  const input = model.inputs[0];
  if (model.inputs.length !== 1 || !input) throw new Error('fine-tuning graph: the trainable blocks need exactly one input');
  values.set(input.id, x);
  stopAt.add(input.id);
  const calls: Call[] = callsFor(model.outputs, stopAt);
  const readers = new Map<number, number>();
  for (const c of calls) for (const t of c.inputs) readers.set(t.id, (readers.get(t.id) ?? 0) + 1);
  for (const t of model.outputs) readers.set(t.id, (readers.get(t.id) ?? 0) + 1);
  const tape: TapeEntry[] = [];
  const params: BlockParam[] = [];
  const constants: BlockConstant[] = [];
  const inputs: OnnxValueInfo[] = [];
  const zero = g.constFloat([0], [1]);
  const i64 = (v: number[]) => g.constInt64(v);

  const param = (layer: string, index: number, shape: number[]): string => {
    const name = g.unique(`p${params.length}`);
    params.push({ name, grad: '', layer, index, shape });
    inputs.push({ name, dims: shape });
    return name;
  };
  const constant = (layer: string, kind: 'mean' | 'rstd', c: number): string => {
    const name = g.unique(`k${constants.length}`);
    constants.push({ name, layer, kind, shape: [c] });
    inputs.push({ name, dims: [c] });
    return name;
  };

  const activation = (layer: string, xv: Val, kind: string): Val => {
    if (kind === 'linear') return xv;
    if (kind !== 'relu' && kind !== 'relu6') throw new UnsupportedTrainingLayerError(layer, 'Activation', `uses activation "${kind}"; relu and relu6 are supported`);
    const y = kind === 'relu' ? g.node('Relu', [xv.name], layer) : g.node('Clip', [xv.name, g.constFloat([0], []), g.constFloat([6], [])], layer);
    const out: Val = { name: y, shape: xv.shape };
    tape.push({
      inputs: [xv],
      output: out,
      // TF.js: relu passes where x > 0; relu6 where 0 < x ≤ 6.
      backward: (dy) => {
        let on = g.node('Greater', [xv.name, zero], `${layer}/on`);
        if (kind === 'relu6') on = g.node('And', [on, g.node('LessOrEqual', [xv.name, g.constFloat([6], [1])], `${layer}/le6`)], `${layer}/on6`);
        return [g.node('Where', [on, dy, zero], `${layer}/dx`)];
      },
    });
    return out;
  };

  /** Conv (+ folded batch norm) forward and its tape entry. */
  const emitConvBn = (conv: PendingConv, bnLayer: tf.layers.Layer): Val => {
    const bnWeights = bnLayer.weights.map((w) => (w.originalName.split('/').pop() ?? '').replace(/_\d+$/, ''));
    const at = (n: string) => bnWeights.indexOf(n);
    if (at('gamma') < 0 || at('beta') < 0)
      throw new UnsupportedTrainingLayerError(bnLayer.name, 'BatchNormalization', 'has no gamma or beta (scale/center off)');
    const c = conv.outShape[3] as number;
    const gamma = param(bnLayer.name, at('gamma'), [c]);
    const beta = param(bnLayer.name, at('beta'), [c]);
    const mean = constant(bnLayer.name, 'mean', c);
    const rstd = constant(bnLayer.name, 'rstd', c);
    const L = conv.layer;
    const s = g.node('Mul', [gamma, rstd], `${L}/s`);
    const t = g.node('Sub', [beta, g.node('Mul', [mean, s], `${L}/mean_s`)], `${L}/t`);
    const [h, w, cin] = conv.x.shape.slice(1) as [number, number, number];
    const [oh, ow] = conv.outShape.slice(1, 3) as [number, number];
    let y: string;
    let backward: (dy: string) => string[];
    if (conv.kind === 'pointwise') {
      const W2 = g.node('Reshape', [conv.kernel, i64([cin, c])], `${L}/W2`);
      const weff = g.node('Mul', [W2, s], `${L}/Weff`);
      const xr = g.node('Reshape', [conv.x.name, i64([-1, cin])], `${L}/x_rows`);
      y = g.node('Reshape', [g.node('Gemm', [xr, weff, t], `${L}/z_rows`), i64([-1, oh, ow, c])], bnLayer.name);
      backward = (dy) => {
        const dyr = g.node('Reshape', [dy, i64([-1, c])], `${L}/dy_rows`);
        const gWeff = g.node('Gemm', [xr, dyr], `${L}/gWeff`, [{ name: 'transA', i: 1 }]);
        const gK = g.node('Reshape', [g.node('Mul', [gWeff, s], `${L}/gW2`), i64(conv.kernelShape)], `${L}/gK`);
        const sumDy = g.node('ReduceSum', [dyr, i64([0])], `${L}/sum_dy`, [{ name: 'keepdims', i: 0 }]);
        const sumWg = g.node('ReduceSum', [g.node('Mul', [gWeff, W2], `${L}/gWeff_W`), i64([0])], `${L}/sum_gW`, [{ name: 'keepdims', i: 0 }]);
        const dx = g.node('Reshape', [g.node('Gemm', [dyr, weff, zero], `${L}/dx_rows`, [{ name: 'transB', i: 1 }]), i64([-1, h, w, cin])], `${L}/dx`);
        return [dx, gK, ...bnGradients(sumDy, sumWg)];
      };
    } else {
      const [kh, kw] = conv.kernelShape as [number, number];
      const [sh, sw] = conv.strides;
      const [pt, pl, pb, pr] = conv.pads;
      const sCol = g.node('Reshape', [s, i64([c, 1])], `${L}/s_col`);
      const weffTf = g.node('Mul', [conv.kernel, sCol], `${L}/Weff`);
      // TF.js [kh, kw, C, 1] → ONNX grouped-conv weight [C, 1, kh, kw].
      const wc = g.node('Transpose', [weffTf], `${L}/Wc`, [{ name: 'perm', ints: [2, 3, 0, 1] }]);
      const convAttrs = [
        { name: 'kernel_shape', ints: [kh, kw] },
        { name: 'strides', ints: [sh, sw] },
        { name: 'pads', ints: [pt, pl, pb, pr] },
        { name: 'group', i: c },
      ];
      const xn = g.node('Transpose', [conv.x.name], `${L}/x_nchw`, [{ name: 'perm', ints: [0, 3, 1, 2] }]);
      const zn = g.node('Conv', [xn, wc, t], `${L}/z_nchw`, convAttrs);
      y = g.node('Transpose', [zn], bnLayer.name, [{ name: 'perm', ints: [0, 2, 3, 1] }]);
      backward = (dy) => {
        const dyn = g.node('Transpose', [dy], `${L}/dy_nchw`, [{ name: 'perm', ints: [0, 3, 1, 2] }]);
        // Input gradient: the transposed convolution, padded back out to the input's size.
        const extra = [h - ((oh - 1) * sh + kh - pt - pb), w - ((ow - 1) * sw + kw - pl - pr)];
        const dxn = g.node('ConvTranspose', [dyn, wc], `${L}/dx_nchw`, [...convAttrs, { name: 'output_padding', ints: extra }]);
        const dx = g.node('Transpose', [dxn], `${L}/dx`, [{ name: 'perm', ints: [0, 2, 3, 1] }]);
        // Weight gradient per kernel offset: Σ over batch and space of shifted input × output gradient.
        const xp = pt || pl || pb || pr ? g.node('Pad', [xn, i64([0, 0, pt, pl, 0, 0, pb, pr])], `${L}/x_pad`) : xn;
        const offsets: string[] = [];
        for (let ky = 0; ky < kh; ky++)
          for (let kx = 0; kx < kw; kx++) {
            const slice = g.node('Slice', [xp, i64([ky, kx]), i64([ky + sh * (oh - 1) + 1, kx + sw * (ow - 1) + 1]), i64([2, 3]), i64([sh, sw])], `${L}/x_${ky}${kx}`);
            const sum = g.node('ReduceSum', [g.node('Mul', [slice, dyn], `${L}/xdy_${ky}${kx}`), i64([0, 2, 3])], `${L}/g_${ky}${kx}`, [{ name: 'keepdims', i: 0 }]);
            offsets.push(g.node('Unsqueeze', [sum, i64([0])], `${L}/g_${ky}${kx}_row`));
          }
        const gWeff = g.node('Reshape', [g.node('Concat', offsets, `${L}/gWeff_rows`, [{ name: 'axis', i: 0 }]), i64([kh, kw, c, 1])], `${L}/gWeff`);
        const gK = g.node('Mul', [gWeff, sCol], `${L}/gK`);
        const sumDy = g.node('ReduceSum', [dyn, i64([0, 2, 3])], `${L}/sum_dy`, [{ name: 'keepdims', i: 0 }]);
        const prod = g.node('Reshape', [g.node('Mul', [gWeff, conv.kernel], `${L}/gWeff_W`), i64([kh * kw, c])], `${L}/gWeff_W_rows`);
        const sumWg = g.node('ReduceSum', [prod, i64([0])], `${L}/sum_gW`, [{ name: 'keepdims', i: 0 }]);
        return [dx, gK, ...bnGradients(sumDy, sumWg)];
      };
    }
    // y = (X∗W)·s + β − μ·s, s = γ·r: dβ = Σdy; dγ = r·(Σ (X∗W)·dy − μ·Σdy) with Σ (X∗W)·dy = Σ W·dW_eff.
    const bnGradients = (sumDy: string, sumWg: string): string[] => {
      const gGamma = g.node('Mul', [rstd, g.node('Sub', [sumWg, g.node('Mul', [mean, sumDy], `${L}/mean_sum_dy`)], `${L}/gGamma_a`)], `g_${gamma}`);
      const gBeta = g.node('Identity', [sumDy], `g_${beta}`);
      return [gGamma, gBeta];
    };
    const out: Val = { name: y, shape: [-1, oh, ow, c] };
    const kernelParam = params.find((p) => p.name === conv.kernel) as BlockParam;
    const gammaParam = params.find((p) => p.name === gamma) as BlockParam;
    const betaParam = params.find((p) => p.name === beta) as BlockParam;
    tape.push({
      inputs: [conv.x],
      output: out,
      backward: (dy) => {
        const [dx, gK, gGamma, gBeta] = backward(dy) as [string, string, string, string];
        kernelParam.grad = gK;
        gammaParam.grad = gGamma;
        betaParam.grad = gBeta;
        return [dx];
      },
    });
    return out;
  };

  for (const call of calls) {
    const { layer } = call;
    const cls = layer.getClassName();
    const config = layer.getConfig() as Record<string, unknown>;
    const ins = call.inputs.map((t) => {
      const v = values.get(t.id);
      if (!v) throw new Error(`fine-tuning graph: tensor ${t.name} was used before it was computed`);
      return v;
    });
    const single = () => {
      if (ins.length !== 1) throw new UnsupportedTrainingLayerError(layer.name, cls, `takes ${ins.length} inputs`);
      const v = ins[0] as Val;
      if (v.conv) throw new UnsupportedTrainingLayerError(v.conv.layer, 'Conv', 'is not followed by batch normalization');
      return v;
    };
    let out: Val;
    if (cls === 'Conv2D' || cls === 'DepthwiseConv2D') {
      let xv = ins[0] as Val;
      if (ins.length !== 1 || xv.conv) throw new UnsupportedTrainingLayerError(layer.name, cls, 'needs one computed input');
      if (config.useBias) throw new UnsupportedTrainingLayerError(layer.name, cls, 'has a bias (MobileNetV2 convolutions do not)');
      if (String(config.activation ?? 'linear') !== 'linear') throw new UnsupportedTrainingLayerError(layer.name, cls, 'has a fused activation');
      const [kh, kw] = pair(config.kernelSize, 1);
      const strides = pair(config.strides, 1);
      const dil = pair(config.dilationRate, 1);
      if (dil[0] !== 1 || dil[1] !== 1) throw new UnsupportedTrainingLayerError(layer.name, cls, 'is dilated');
      const kernelShape = layer.weights[0]?.shape as number[];
      let pads: [number, number, number, number] = [0, 0, 0, 0];
      if (cls === 'Conv2D') {
        if (kh !== 1 || kw !== 1 || strides[0] !== 1 || strides[1] !== 1)
          throw new UnsupportedTrainingLayerError(layer.name, cls, 'is not a 1×1 stride-1 convolution');
      } else {
        if (Number(config.depthMultiplier ?? 1) !== 1) throw new UnsupportedTrainingLayerError(layer.name, cls, 'has a depth multiplier');
        if (config.padding === 'same') {
          const [t, b] = samePads(xv.shape[1] as number, kh, strides[0]);
          const [l, r] = samePads(xv.shape[2] as number, kw, strides[1]);
          pads = [t, l, b, r];
        }
        if (xv.zeroPad) {
          const p = xv.zeroPad.pads;
          pads = [pads[0] + p[0], pads[1] + p[1], pads[2] + p[2], pads[3] + p[3]];
          xv = xv.zeroPad.source;
        }
      }
      if (xv.zeroPad) throw new UnsupportedTrainingLayerError(layer.name, cls, 'reads a ZeroPadding2D output');
      const [h, w] = [xv.shape[1] as number, xv.shape[2] as number];
      const oh = Math.floor((h + pads[0] + pads[2] - kh) / strides[0]) + 1;
      const ow = Math.floor((w + pads[1] + pads[3] - kw) / strides[1]) + 1;
      const cout = cls === 'Conv2D' ? (kernelShape[3] as number) : (xv.shape[3] as number);
      if ((readers.get(call.outputs[0]?.id ?? -1) ?? 0) !== 1)
        throw new UnsupportedTrainingLayerError(layer.name, cls, 'is read by more than its batch normalization');
      const kernel = param(layer.name, 0, kernelShape);
      out = {
        name: `${layer.name}#pending`,
        shape: [-1, oh, ow, cout],
        conv: { kind: cls === 'Conv2D' ? 'pointwise' : 'depthwise', layer: layer.name, x: xv, kernel, kernelShape, strides, pads, outShape: [-1, oh, ow, cout] },
      };
    } else if (cls === 'BatchNormalization') {
      const v = ins[0] as Val;
      if (ins.length !== 1 || !v.conv) throw new UnsupportedTrainingLayerError(layer.name, cls, 'does not follow a convolution');
      const axis = Number(Array.isArray(config.axis) ? config.axis[0] : (config.axis ?? -1));
      if (axis !== -1 && axis !== 3) throw new UnsupportedTrainingLayerError(layer.name, cls, `normalises axis ${axis}`);
      out = emitConvBn(v.conv, layer);
    } else if (cls === 'ReLU') {
      const max = config.maxValue;
      if (max !== undefined && max !== null && Number(max) !== 6) throw new UnsupportedTrainingLayerError(layer.name, cls, `caps at ${String(max)}`);
      out = activation(layer.name, single(), max == null ? 'relu' : 'relu6');
    } else if (cls === 'Activation') {
      out = activation(layer.name, single(), String(config.activation ?? 'linear'));
    } else if (cls === 'Add') {
      if (ins.some((v) => v.conv || v.zeroPad)) throw new UnsupportedTrainingLayerError(layer.name, cls, 'adds an unfinished value');
      const y = ins.slice(1).reduce((acc, v, i) => g.node('Add', [acc, v.name], i === ins.length - 2 ? layer.name : `${layer.name}/${i}`), (ins[0] as Val).name);
      out = { name: y, shape: (ins[0] as Val).shape };
      tape.push({ inputs: ins, output: out, backward: (dy) => ins.map(() => dy) });
    } else if (cls === 'ZeroPadding2D') {
      const v = single();
      const p = config.padding;
      let t = 1, b = 1, l = 1, r = 1;
      if (typeof p === 'number') [t, b, l, r] = [p, p, p, p];
      else if (Array.isArray(p) && typeof p[0] === 'number') [t, b, l, r] = [p[0], p[0], Number(p[1]), Number(p[1])];
      else if (Array.isArray(p)) {
        [t, b] = pair(p[0], 1);
        [l, r] = pair(p[1], 1);
      }
      out = { name: `${layer.name}#pending`, shape: [-1, (v.shape[1] as number) + t + b, (v.shape[2] as number) + l + r, v.shape[3] as number], zeroPad: { source: v, pads: [t, l, b, r] } };
    } else {
      throw new UnsupportedTrainingLayerError(layer.name, cls, 'has no backward pass in the fine-tuning graph');
    }
    const outTensor = call.outputs[0];
    if (call.outputs.length !== 1 || !outTensor) throw new UnsupportedTrainingLayerError(layer.name, cls, 'has several outputs');
    values.set(outTensor.id, out);
  }
  const output = values.get((model.outputs[0] as tf.SymbolicTensor).id) as Val;
  if (output.conv || output.zeroPad) throw new UnsupportedTrainingLayerError(model.name, 'Model', 'ends in a convolution without batch normalization or in padding');
  return { output, tape, params, constants, inputs };
}

/** Reverse pass over the tape from dL/d(output): fills every param's `grad`. */
function emitBackward(g: GraphBuilder, blocks: EmittedBlocks, dOutput: string): void {
  const grads = new Map<string, string[]>([[blocks.output.name, [dOutput]]]);
  for (let i = blocks.tape.length - 1; i >= 0; i--) {
    const entry = blocks.tape[i] as TapeEntry;
    const parts = grads.get(entry.output.name);
    if (!parts?.length) continue;
    const dy = parts.length === 1 ? (parts[0] as string) : g.node('Sum', parts, `${entry.output.name}/dsum`);
    entry.backward(dy).forEach((d, k) => {
      const v = entry.inputs[k] as Val;
      if (d) grads.set(v.name, [...(grads.get(v.name) ?? []), d]);
    });
  }
}

/**
 * The three graphs of fine-tuning `blocks` (the backbone's trainable tail, on [h, w, c] boundary
 * maps) under a spatial head `head` (its positions/channels come from the blocks' output).
 * Inputs besides the parameters: `x` [B, h, w, c], and what the spatial head's graphs take.
 */
export function buildBlockTrainGraphs(blocks: tf.LayersModel, inputShape: number[], head: Omit<SpatialHeadShape, 'positions' | 'channels'>): BlockTrainGraphs {
  const g = new GraphBuilder();
  const [ih, iw, ic] = inputShape as [number, number, number];
  const xInput: OnnxValueInfo = { name: 'x', dims: ['B', ih, iw, ic] };
  g.unique('x');
  // Reserve the head's input names before the blocks name anything.
  const probeShape: SpatialHeadShape = { ...head, positions: 1, channels: 1 };
  for (const i of [...spatialTrainingInputs(probeShape), ...spatialForwardInputs(probeShape)]) g.unique(i.name);
  const emitted = emitBlocks(g, blocks, { name: 'x', shape: [-1, ih, iw, ic] });
  const [oh, ow, oc] = emitted.output.shape.slice(1) as [number, number, number];
  const shape: SpatialHeadShape = { ...head, positions: oh * ow, channels: oc };
  const headX = g.node('Reshape', [emitted.output.name, g.constInt64([-1, oh * ow, oc])], 'head_x');
  const training = addSpatialTraining(g, shape, headX);
  const dOut = g.node('Reshape', [training.dx, g.constInt64([-1, oh, ow, oc])], 'blocks_dy');
  emitBackward(g, emitted, dOut);
  const probs = addSpatialForward(g, shape, headX);

  const all: OnnxValueInfo[] = [];
  for (const i of [xInput, ...spatialTrainingInputs(shape), ...spatialForwardInputs(shape), ...emitted.inputs]) if (!all.some((a) => a.name === i.name)) all.push(i);
  const headOuts = spatialTrainingOutputs(shape, training);
  const paramOuts: OnnxValueInfo[] = emitted.params.map((p) => {
    if (!p.grad) throw new Error(`fine-tuning graph: no gradient reaches ${p.layer} (weight ${p.index})`);
    return { name: p.grad, dims: p.shape };
  });
  const build = (name: string, outputs: OnnxValueInfo[]): BuiltGraph => {
    const graph = g.build(name, all, outputs);
    // Declare only the inputs this graph reads: ORT wants a feed for every declared input.
    const read = new Set(graph.nodes.flatMap((n) => n.inputs));
    graph.inputs = all.filter((i) => read.has(i.name));
    return { bytes: encodeOnnxModel({ producerName: 'defectflow', producerVersion: '0.1.0', graph }), inputs: graph.inputs.map((i) => i.name), outputs: outputs.map((o) => o.name) };
  };
  return {
    finetune: build('finetune_gradients', [...headOuts, ...paramOuts]),
    head: build('finetune_head_gradients', headOuts),
    forward: build('finetune_forward', [{ name: probs, dims: ['B', shape.classes] }]),
    blocks: build('finetune_blocks', [{ name: emitted.output.name, dims: ['B', oh, ow, oc] }]),
    headShape: shape,
    params: emitted.params,
    constants: emitted.constants,
    outputShape: [oh, ow, oc],
    headOutputs: training,
  };
}
