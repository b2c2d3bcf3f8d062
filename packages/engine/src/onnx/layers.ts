import type * as tf from '@tensorflow/tfjs';
import { type GraphBuilder, storageAxis, type Value } from './graph-builder.ts';

/** Thrown for a layer (or a layer setting) the converter has no ONNX form for. */
export class UnsupportedLayerError extends Error {
  readonly code = 'onnx_unsupported_layer';
  constructor(
    readonly layerName: string,
    readonly className: string,
    detail?: string,
  ) {
    super(
      `ONNX conversion: layer "${layerName}" (${className}) ${detail ?? 'is not supported'}` +
        (detail ? '' : `; supported: ${SUPPORTED_LAYERS.join(', ')}`),
    );
    this.name = 'UnsupportedLayerError';
  }
}

export interface LayerContext {
  layer: tf.layers.Layer;
  className: string;
  config: Record<string, unknown>;
  inputs: Value[];
  g: GraphBuilder;
  /** How many layer calls (plus model outputs) read this value in the TF.js graph. */
  consumers(v: Value): number;
}

type Converter = (ctx: LayerContext) => Value;

function fail(ctx: LayerContext, detail?: string): never {
  throw new UnsupportedLayerError(ctx.layer.name, ctx.className, detail);
}

function one(ctx: LayerContext): Value {
  const v = ctx.inputs[0];
  if (ctx.inputs.length !== 1 || !v) fail(ctx, `takes ${ctx.inputs.length} inputs; expected exactly one`);
  return v;
}

function pair(v: unknown, fallback: number): [number, number] {
  if (typeof v === 'number') return [v, v];
  if (Array.isArray(v)) return [Number(v[0] ?? fallback), Number(v[1] ?? v[0] ?? fallback)];
  return [fallback, fallback];
}

function requireChannelsLast(ctx: LayerContext): void {
  const f = ctx.config.dataFormat;
  if (f !== undefined && f !== null && f !== 'channelsLast') fail(ctx, `uses dataFormat "${String(f)}"; only channelsLast is supported`);
}

function require4d(ctx: LayerContext, v: Value): void {
  if (v.shape.length !== 4) fail(ctx, `needs a rank-4 [N,H,W,C] input, got rank ${v.shape.length}`);
}

/** Named weights of a layer: last path segment of the variable name, without a uniquifying `_N`. */
function weightsOf(layer: tf.layers.Layer): Map<string, { data: Float32Array; shape: number[] }> {
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const w of layer.weights) {
    const key = (w.originalName.split('/').pop() ?? w.originalName).replace(/_\d+$/, '');
    const t = w.read();
    out.set(key, { data: Float32Array.from(t.dataSync() as Float32Array), shape: t.shape.slice() });
  }
  return out;
}

function weight(ctx: LayerContext, all: Map<string, { data: Float32Array; shape: number[] }>, key: string) {
  const w = all.get(key);
  if (!w) fail(ctx, `has no "${key}" weight (found ${[...all.keys()].join(', ') || 'none'})`);
  return w;
}

/** TF/Keras "same" padding: total = max((ceil(n/s)-1)·s + k_eff − n, 0), the odd pixel at the end. */
export function samePads(size: number, kernel: number, stride: number, dilation = 1): [number, number] {
  const kEff = (kernel - 1) * dilation + 1;
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kEff - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

function outSize(size: number, kernel: number, stride: number, dilation: number, padTotal: number): number {
  return Math.floor((size + padTotal - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

// ---------------------------------------------------------------- activations

/** Emits a Keras activation by its TF.js name; 'linear' returns the input untouched. */
export function emitActivation(ctx: LayerContext, x: Value, activation: string, base: string): Value {
  const { g } = ctx;
  const rank = x.shape.length;
  const unary = (op: string, attributes?: Parameters<GraphBuilder['node']>[3]) => ({
    name: g.node(op, [x.name], base, attributes),
    shape: x.shape,
  });
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return unary('Relu');
    case 'relu6':
      return { name: g.node('Clip', [x.name, g.constFloat([0], []), g.constFloat([6], [])], base), shape: x.shape };
    case 'sigmoid':
      return unary('Sigmoid');
    case 'tanh':
      return unary('Tanh');
    case 'softmax':
      return unary('Softmax', [{ name: 'axis', i: storageAxis(rank, -1) }]);
    case 'elu':
      return unary('Elu', [{ name: 'alpha', f: 1 }]);
    case 'selu':
      return unary('Selu');
    case 'softplus':
      return unary('Softplus');
    case 'softsign':
      return unary('Softsign');
    case 'hardSigmoid':
      return unary('HardSigmoid', [{ name: 'alpha', f: 0.2 }, { name: 'beta', f: 0.5 }]);
    case 'swish': {
      const s = g.node('Sigmoid', [x.name], `${base}/sigmoid`);
      return { name: g.node('Mul', [x.name, s], base), shape: x.shape };
    }
    default:
      fail(ctx, `uses activation "${activation}", which has no ONNX conversion here`);
  }
}

// ---------------------------------------------------------------- convolutions

interface ConvSpec {
  weight: Float32Array;
  bias: Float32Array;
  outChannels: number;
  inChannels: number;
  kernel: [number, number];
  group: number;
}

function emitConv(ctx: LayerContext, spec: ConvSpec): Value {
  const { g, config, layer } = ctx;
  let x = one(ctx);
  require4d(ctx, x);
  requireChannelsLast(ctx);
  const strides = pair(config.strides, 1);
  const dilations = pair(config.dilationRate, 1);
  const [kh, kw] = spec.kernel;
  let pads: [number, number, number, number] = [0, 0, 0, 0];
  if (config.padding === 'same') {
    const [t, b] = samePads(x.shape[1] as number, kh, strides[0], dilations[0]);
    const [l, r] = samePads(x.shape[2] as number, kw, strides[1], dilations[1]);
    pads = [t, l, b, r];
  } else if (config.padding !== 'valid') fail(ctx, `uses padding "${String(config.padding)}"`);
  // ZeroPadding2D → valid conv (MobileNetV2's stride-2 blocks) becomes one conv with explicit pads.
  if (x.zeroPad && ctx.consumers(x) === 1) {
    const p = x.zeroPad.pads;
    pads = [pads[0] + p[0], pads[1] + p[1], pads[2] + p[2], pads[3] + p[3]];
    x = x.zeroPad.source;
  }
  const [h, w] = [x.shape[1] as number, x.shape[2] as number];
  const oh = outSize(h, kh, strides[0], dilations[0], pads[0] + pads[2]);
  const ow = outSize(w, kw, strides[1], dilations[1], pads[1] + pads[3]);
  const W = g.float(`${layer.name}/W`, spec.weight, [spec.outChannels, spec.inChannels / spec.group, kh, kw]);
  const B = g.float(`${layer.name}/B`, spec.bias, [spec.outChannels]);
  const activation = String(config.activation ?? 'linear');
  const convName = g.node('Conv', [x.name, W, B], activation === 'linear' ? layer.name : `${layer.name}/conv`, [
    { name: 'kernel_shape', ints: [kh, kw] },
    { name: 'strides', ints: strides },
    { name: 'dilations', ints: dilations },
    { name: 'pads', ints: pads },
    { name: 'group', i: spec.group },
  ]);
  const out: Value = {
    name: convName,
    shape: [-1, oh, ow, spec.outChannels],
    conv: { weight: spec.weight, bias: spec.bias, outChannels: spec.outChannels },
  };
  if (activation === 'linear') return out;
  return emitActivation(ctx, { name: out.name, shape: out.shape }, activation, layer.name);
}

const conv2d: Converter = (ctx) => {
  const x = one(ctx);
  require4d(ctx, x);
  if (Number(ctx.config.groups ?? 1) !== 1) fail(ctx, 'uses grouped convolution');
  const ws = weightsOf(ctx.layer);
  const k = weight(ctx, ws, 'kernel');
  const [kh, kw, cin, cout] = k.shape as [number, number, number, number];
  // TF.js [kh,kw,in,out] → ONNX [out,in,kh,kw]
  const W = new Float32Array(k.data.length);
  for (let y = 0; y < kh; y++)
    for (let xx = 0; xx < kw; xx++)
      for (let i = 0; i < cin; i++)
        for (let o = 0; o < cout; o++) W[((o * cin + i) * kh + y) * kw + xx] = k.data[((y * kw + xx) * cin + i) * cout + o] as number;
  const bias = ws.get('bias')?.data ?? new Float32Array(cout);
  return emitConv(ctx, { weight: W, bias: Float32Array.from(bias), outChannels: cout, inChannels: cin, kernel: [kh, kw], group: 1 });
};

const depthwiseConv2d: Converter = (ctx) => {
  const x = one(ctx);
  require4d(ctx, x);
  const ws = weightsOf(ctx.layer);
  const k = weight(ctx, ws, 'depthwise_kernel');
  const [kh, kw, cin, mult] = k.shape as [number, number, number, number];
  // TF.js [kh,kw,in,mult] → ONNX [in·mult,1,kh,kw] with group = in (output channel c·mult+m, as TF orders it)
  const cout = cin * mult;
  const W = new Float32Array(k.data.length);
  for (let y = 0; y < kh; y++)
    for (let xx = 0; xx < kw; xx++)
      for (let c = 0; c < cin; c++)
        for (let m = 0; m < mult; m++) W[((c * mult + m) * kh + y) * kw + xx] = k.data[((y * kw + xx) * cin + c) * mult + m] as number;
  const bias = ws.get('bias')?.data ?? new Float32Array(cout);
  return emitConv(ctx, { weight: W, bias: Float32Array.from(bias), outChannels: cout, inChannels: cin, kernel: [kh, kw], group: cin });
};

// ---------------------------------------------------------------- normalisation

const batchNorm: Converter = (ctx) => {
  const x = one(ctx);
  const rank = x.shape.length;
  const axis = Number(Array.isArray(ctx.config.axis) ? ctx.config.axis[0] : (ctx.config.axis ?? -1));
  if ((axis < 0 ? axis + rank : axis) !== rank - 1) fail(ctx, `normalises axis ${axis}; only the channel (last) axis is supported`);
  const ws = weightsOf(ctx.layer);
  const mean = weight(ctx, ws, 'moving_mean').data;
  const variance = weight(ctx, ws, 'moving_variance').data;
  const gamma = ws.get('gamma')?.data;
  const beta = ws.get('beta')?.data;
  const eps = Number(ctx.config.epsilon ?? 1e-3);
  const c = mean.length;
  const scale = new Float64Array(c);
  const shift = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    scale[i] = (gamma ? (gamma[i] as number) : 1) / Math.sqrt((variance[i] as number) + eps);
    shift[i] = (beta ? (beta[i] as number) : 0) - (mean[i] as number) * (scale[i] as number);
  }
  // Fold into the conv that feeds only this layer: W'[o] = W[o]·s[o], b'[o] = b[o]·s[o] + t[o].
  if (x.conv && x.conv.outChannels === c && ctx.consumers(x) === 1) {
    const { weight: W, bias: B } = x.conv;
    const per = W.length / c;
    for (let o = 0; o < c; o++) {
      const s = scale[o] as number;
      for (let j = o * per; j < (o + 1) * per; j++) W[j] = (W[j] as number) * s;
      B[o] = (B[o] as number) * s + (shift[o] as number);
    }
    return { name: x.name, shape: x.shape, conv: x.conv };
  }
  const dims = rank === 4 ? [1, c, 1, 1] : [c];
  const { g, layer } = ctx;
  const mul = g.node('Mul', [x.name, g.float(`${layer.name}/scale`, Float32Array.from(scale), dims)], `${layer.name}/mul`);
  return { name: g.node('Add', [mul, g.float(`${layer.name}/shift`, Float32Array.from(shift), dims)], layer.name), shape: x.shape };
};

// ---------------------------------------------------------------- pooling, padding, reshaping

function pool(op: 'MaxPool' | 'AveragePool'): Converter {
  return (ctx) => {
    const x = one(ctx);
    require4d(ctx, x);
    requireChannelsLast(ctx);
    const [kh, kw] = pair(ctx.config.poolSize, 2);
    const strides = ctx.config.strides == null ? ([kh, kw] as [number, number]) : pair(ctx.config.strides, kh);
    let pads: [number, number, number, number] = [0, 0, 0, 0];
    if (ctx.config.padding === 'same') {
      const [t, b] = samePads(x.shape[1] as number, kh, strides[0]);
      const [l, r] = samePads(x.shape[2] as number, kw, strides[1]);
      pads = [t, l, b, r];
    } else if (ctx.config.padding !== 'valid') fail(ctx, `uses padding "${String(ctx.config.padding)}"`);
    const oh = outSize(x.shape[1] as number, kh, strides[0], 1, pads[0] + pads[2]);
    const ow = outSize(x.shape[2] as number, kw, strides[1], 1, pads[1] + pads[3]);
    const attributes = [
      { name: 'kernel_shape', ints: [kh, kw] },
      { name: 'strides', ints: strides },
      { name: 'pads', ints: pads },
      // TF averages over the in-image pixels only.
      ...(op === 'AveragePool' ? [{ name: 'count_include_pad', i: 0 }] : []),
    ];
    return { name: ctx.g.node(op, [x.name], ctx.layer.name, attributes), shape: [-1, oh, ow, x.shape[3] as number] };
  };
}

function globalPool(op: 'GlobalAveragePool' | 'GlobalMaxPool'): Converter {
  return (ctx) => {
    const x = one(ctx);
    require4d(ctx, x);
    requireChannelsLast(ctx);
    if (ctx.config.keepdims === true) fail(ctx, 'uses keepdims');
    const pooled = ctx.g.node(op, [x.name], `${ctx.layer.name}/pool`);
    return { name: ctx.g.node('Flatten', [pooled], ctx.layer.name, [{ name: 'axis', i: 1 }]), shape: [-1, x.shape[3] as number] };
  };
}

const zeroPadding2d: Converter = (ctx) => {
  const x = one(ctx);
  require4d(ctx, x);
  requireChannelsLast(ctx);
  const p = ctx.config.padding;
  let t: number, b: number, l: number, r: number;
  if (typeof p === 'number') [t, b, l, r] = [p, p, p, p];
  else if (Array.isArray(p) && typeof p[0] === 'number') [t, b, l, r] = [p[0], p[0], Number(p[1]), Number(p[1])];
  else if (Array.isArray(p)) {
    [t, b] = pair(p[0], 1);
    [l, r] = pair(p[1], 1);
  } else [t, b, l, r] = [1, 1, 1, 1];
  const pads = ctx.g.constInt64([0, 0, t, l, 0, 0, b, r]);
  return {
    name: ctx.g.node('Pad', [x.name, pads], ctx.layer.name),
    shape: [-1, (x.shape[1] as number) + t + b, (x.shape[2] as number) + l + r, x.shape[3] as number],
    zeroPad: { source: x, pads: [t, l, b, r] },
  };
};

const flatten: Converter = (ctx) => {
  const x = one(ctx);
  const size = x.shape.slice(1).reduce((a, b) => a * b, 1);
  if (x.shape.length === 2) return x;
  let input = x.name;
  // Keras flattens in NHWC order; go back to it first so a following Dense sees the same layout.
  if (x.shape.length === 4) input = ctx.g.node('Transpose', [x.name], `${ctx.layer.name}/nhwc`, [{ name: 'perm', ints: [0, 2, 3, 1] }]);
  return { name: ctx.g.node('Flatten', [input], ctx.layer.name, [{ name: 'axis', i: 1 }]), shape: [-1, size] };
};

// ---------------------------------------------------------------- dense, merges, activations as layers

const dense: Converter = (ctx) => {
  const x = one(ctx);
  const ws = weightsOf(ctx.layer);
  const k = weight(ctx, ws, 'kernel');
  const [cin, cout] = k.shape as [number, number];
  const bias = Float32Array.from(ws.get('bias')?.data ?? new Float32Array(cout));
  const activation = String(ctx.config.activation ?? 'linear');
  const { g, layer } = ctx;
  if (x.shape.length === 2) {
    const W = g.float(`${layer.name}/W`, Float32Array.from(k.data), [cin, cout]);
    const B = g.float(`${layer.name}/B`, bias, [cout]);
    const y: Value = { name: g.node('Gemm', [x.name, W, B], activation === 'linear' ? layer.name : `${layer.name}/gemm`), shape: [-1, cout] };
    return emitActivation(ctx, y, activation, layer.name);
  }
  if (x.shape.length === 4) {
    // Dense on a feature map acts on channels: a 1×1 convolution in NCHW.
    const W = new Float32Array(k.data.length);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) W[o * cin + i] = k.data[i * cout + o] as number;
    return emitConv(
      { ...ctx, config: { ...ctx.config, padding: 'valid', strides: [1, 1], dilationRate: [1, 1] } },
      { weight: W, bias, outChannels: cout, inChannels: cin, kernel: [1, 1], group: 1 },
    );
  }
  fail(ctx, `needs a rank-2 or rank-4 input, got rank ${x.shape.length}`);
};

function merge(kind: 'Add' | 'Multiply' | 'Subtract' | 'Maximum' | 'Minimum' | 'Average'): Converter {
  return (ctx) => {
    const xs = ctx.inputs;
    if (xs.length < 2) fail(ctx, 'needs at least two inputs');
    const shape = (xs[0] as Value).shape;
    if (xs.some((v) => v.shape.length !== shape.length)) fail(ctx, 'mixes inputs of different ranks');
    if (kind === 'Subtract' && xs.length !== 2) fail(ctx, 'needs exactly two inputs');
    const { g, layer } = ctx;
    const names = xs.map((v) => v.name);
    const outShape = shape.map((_, i) => Math.max(...xs.map((v) => v.shape[i] as number)));
    if (kind === 'Maximum' || kind === 'Minimum') return { name: g.node(kind === 'Maximum' ? 'Max' : 'Min', names, layer.name), shape: outShape };
    if (kind === 'Average') {
      const sum = g.node('Sum', names, `${layer.name}/sum`);
      return { name: g.node('Mul', [sum, g.constFloat([1 / xs.length], [])], layer.name), shape: outShape };
    }
    const op = kind === 'Add' ? 'Add' : kind === 'Multiply' ? 'Mul' : 'Sub';
    let acc = names[0] as string;
    for (let i = 1; i < names.length; i++) acc = g.node(op, [acc, names[i] as string], i === names.length - 1 ? layer.name : `${layer.name}/${i}`);
    return { name: acc, shape: outShape };
  };
}

const concatenate: Converter = (ctx) => {
  const xs = ctx.inputs;
  const rank = (xs[0] as Value).shape.length;
  if (xs.some((v) => v.shape.length !== rank)) fail(ctx, 'mixes inputs of different ranks');
  const axis = Number(ctx.config.axis ?? -1);
  const a = axis < 0 ? axis + rank : axis;
  const shape = (xs[0] as Value).shape.slice();
  shape[a] = xs.reduce((s, v) => s + (v.shape[a] as number), 0);
  return { name: ctx.g.node('Concat', xs.map((v) => v.name), ctx.layer.name, [{ name: 'axis', i: storageAxis(rank, a) }]), shape };
};

const relu: Converter = (ctx) => {
  const x = one(ctx);
  const max = ctx.config.maxValue;
  if (max === undefined || max === null) return { name: ctx.g.node('Relu', [x.name], ctx.layer.name), shape: x.shape };
  const { g } = ctx;
  return { name: g.node('Clip', [x.name, g.constFloat([0], []), g.constFloat([Number(max)], [])], ctx.layer.name), shape: x.shape };
};

const rescaling: Converter = (ctx) => {
  const x = one(ctx);
  const scale = ctx.config.scale;
  const offset = ctx.config.offset ?? 0;
  if (typeof scale !== 'number' || typeof offset !== 'number') fail(ctx, 'has a non-scalar scale/offset');
  const { g } = ctx;
  let name = x.name;
  if (scale !== 1) name = g.node('Mul', [name, g.constFloat([scale], [])], offset === 0 ? ctx.layer.name : `${ctx.layer.name}/scale`);
  if (offset !== 0) name = g.node('Add', [name, g.constFloat([offset], [])], ctx.layer.name);
  return { name, shape: x.shape };
};

const identity: Converter = (ctx) => {
  const x = one(ctx);
  return { name: x.name, shape: x.shape };
};

const CONVERTERS: Record<string, Converter> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  BatchNormalization: batchNorm,
  ReLU: relu,
  LeakyReLU: (ctx) => {
    const x = one(ctx);
    return { name: ctx.g.node('LeakyRelu', [x.name], ctx.layer.name, [{ name: 'alpha', f: Number(ctx.config.alpha ?? 0.3) }]), shape: x.shape };
  },
  ELU: (ctx) => {
    const x = one(ctx);
    return { name: ctx.g.node('Elu', [x.name], ctx.layer.name, [{ name: 'alpha', f: Number(ctx.config.alpha ?? 1) }]), shape: x.shape };
  },
  Softmax: (ctx) => {
    const x = one(ctx);
    const axis = Number(Array.isArray(ctx.config.axis) ? ctx.config.axis[0] : (ctx.config.axis ?? -1));
    return { name: ctx.g.node('Softmax', [x.name], ctx.layer.name, [{ name: 'axis', i: storageAxis(x.shape.length, axis) }]), shape: x.shape };
  },
  Activation: (ctx) => emitActivation(ctx, one(ctx), String(ctx.config.activation ?? 'linear'), ctx.layer.name),
  ZeroPadding2D: zeroPadding2d,
  Add: merge('Add'),
  Multiply: merge('Multiply'),
  Subtract: merge('Subtract'),
  Maximum: merge('Maximum'),
  Minimum: merge('Minimum'),
  Average: merge('Average'),
  Concatenate: concatenate,
  GlobalAveragePooling2D: globalPool('GlobalAveragePool'),
  GlobalMaxPooling2D: globalPool('GlobalMaxPool'),
  MaxPooling2D: pool('MaxPool'),
  AveragePooling2D: pool('AveragePool'),
  Dense: dense,
  Flatten: flatten,
  Rescaling: rescaling,
  // Inference-time identities.
  Dropout: identity,
  SpatialDropout1D: identity,
  GaussianNoise: identity,
  GaussianDropout: identity,
  AlphaDropout: identity,
  ActivityRegularization: identity,
};

export const SUPPORTED_LAYERS = ['InputLayer', ...Object.keys(CONVERTERS)];

export function converterFor(className: string): Converter | undefined {
  return CONVERTERS[className];
}
