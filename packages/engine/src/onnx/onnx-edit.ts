/**
 * Edits a user's ONNX model without re-exporting it: a new image input with the backbone's
 * preprocessing in front, the graph cut at a chosen tensor (nodes after it pruned), and behind the
 * cut either the feature map in NHWC (what the heads train on), its spatial pooling, or a trained
 * head's graph — the deployed model. Original nodes and initializers are copied byte for byte.
 */
import { type OnnxGraph, type OnnxNode, type OnnxTensor, writeNode, writeTensor, writeValueInfo } from './onnx-proto.ts';
import { OnnxReadError, type OnnxNodeRef, type ParsedOnnxModel } from './onnx-read.ts';
import { ProtoWriter } from './protobuf.ts';

export type OnnxLayout = 'NCHW' | 'NHWC';

/** x (0..255) → x·scale + offset, per RGB channel. */
export interface ChannelAffine {
  scale: [number, number, number];
  offset: [number, number, number];
}

export interface CutOnnxOptions {
  /** The tensor the feature extractor ends at (a 4-D map in the model's layout). */
  cut: string;
  inputSize: number;
  layout: OnnxLayout;
  normalization: ChannelAffine;
  /** 'float32' (feature extraction: decoded pixels as floats) or 'uint8' (the deployed model). */
  inputType?: 'float32' | 'uint8';
  /** Pool the map over space: [N,C] ('avgmax': [N,2C], avg first). */
  pool?: 'avg' | 'max' | 'avgmax' | null;
  /** A graph taking the NHWC map as its single input (the trained head): the output becomes its output. */
  head?: OnnxGraph | null;
  metadata?: Record<string, string>;
}

export interface EditedOnnx {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
}

const PREFIX = 'defectflow/';

/** The model's single real input (the one the preprocessing replaces). */
export function imageInputOf(model: ParsedOnnxModel, what: string): { name: string; dims: (number | string | null)[] } {
  if (model.inputs.length !== 1)
    throw new OnnxReadError(`${what} has ${model.inputs.length} inputs (${model.inputs.map((i) => i.name).join(', ')}); an image backbone has exactly one`);
  const input = model.inputs[0] as { name: string; dims: (number | string | null)[] };
  if (input.dims.length !== 4) throw new OnnxReadError(`${what}: input "${input.name}" has rank ${input.dims.length}; an image backbone takes a 4-D batch of images`);
  return input;
}

/** The nodes `targets` depend on, in the graph's order. */
function prune(nodes: OnnxNodeRef[], targets: string[]): OnnxNodeRef[] {
  const needed = new Set(targets);
  const kept: OnnxNodeRef[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i] as OnnxNodeRef;
    if (!n.outputs.some((o) => needed.has(o))) continue;
    kept.push(n);
    for (const x of n.inputs) if (x) needed.add(x);
  }
  return kept.reverse();
}

function isIdentityAffine(a: ChannelAffine): boolean {
  return a.scale.every((v) => v === 1) && a.offset.every((v) => v === 0);
}

/** Head graph with every name prefixed, its input renamed to `source`. */
function renameHead(head: OnnxGraph, source: string): { nodes: OnnxNode[]; initializers: OnnxTensor[]; output: string } {
  const inputName = head.inputs[0]?.name;
  const outputName = head.outputs[0]?.name;
  if (!inputName || !outputName || head.inputs.length !== 1 || head.outputs.length !== 1) throw new Error('head graph must have one input and one output');
  const map = (n: string) => (n === inputName ? source : n === '' ? '' : `${PREFIX}head/${n}`);
  return {
    nodes: head.nodes.map((n) => ({ ...n, name: `${PREFIX}head/${n.name}`, inputs: n.inputs.map(map), outputs: n.outputs.map(map) })),
    initializers: head.initializers.map((t) => ({ ...t, name: map(t.name) })),
    output: map(outputName),
  };
}

/**
 * The model cut at `options.cut` with preprocessing in front and (pooling | NHWC map | head) behind.
 * Input: `image` [N,S,S,3] NHWC, float32 0..255 or uint8.
 */
export function cutOnnxModel(model: ParsedOnnxModel, options: CutOnnxOptions, what = 'ONNX model'): EditedOnnx {
  const original = imageInputOf(model, what);
  const produced = new Set(model.nodes.flatMap((n) => n.outputs));
  if (!produced.has(options.cut)) throw new OnnxReadError(`${what} has no tensor "${options.cut}" (cut point)`);
  const taken = new Set([...produced, ...model.nodes.flatMap((n) => n.inputs), ...model.initializers.map((t) => t.name), original.name]);
  const unique = (base: string) => {
    let name = base;
    for (let i = 1; taken.has(name); i++) name = `${base}_${i}`;
    taken.add(name);
    return name;
  };
  const inputName = unique('image');
  const pre: OnnxNode[] = [];
  const post: OnnxNode[] = [];
  const inits: OnnxTensor[] = [];
  const node = (list: OnnxNode[], opType: string, inputs: string[], out: string, attributes?: OnnxNode['attributes']) => {
    list.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  };
  const constant = (base: string, values: number[]) => {
    const name = unique(`${PREFIX}${base}`);
    inits.push({ name, dims: [values.length], data: Float32Array.from(values) });
    return name;
  };
  // Preprocessing: uint8 → float, per-channel affine in NHWC, then the model's layout; the last
  // step writes the original input's name so the model's own nodes read it unchanged.
  let x = inputName;
  if (options.inputType === 'uint8') x = node(pre, 'Cast', [x], unique(`${PREFIX}pixels`), [{ name: 'to', i: 1 }]);
  if (!isIdentityAffine(options.normalization)) {
    x = node(pre, 'Mul', [x, constant('scale', options.normalization.scale)], unique(`${PREFIX}scaled`));
    x = node(pre, 'Add', [x, constant('offset', options.normalization.offset)], unique(`${PREFIX}normalised`));
  }
  if (options.layout === 'NCHW') node(pre, 'Transpose', [x], original.name, [{ name: 'perm', ints: [0, 3, 1, 2] }]);
  else node(pre, 'Identity', [x], original.name);
  // Behind the cut.
  let out = options.cut;
  const toNchw = () => (options.layout === 'NCHW' ? options.cut : node(post, 'Transpose', [options.cut], unique(`${PREFIX}cut_nchw`), [{ name: 'perm', ints: [0, 3, 1, 2] }]));
  const toNhwc = () => (options.layout === 'NHWC' ? options.cut : node(post, 'Transpose', [options.cut], unique(`${PREFIX}cut_nhwc`), [{ name: 'perm', ints: [0, 2, 3, 1] }]));
  let headNodes: OnnxNode[] = [];
  if (options.head) {
    const head = renameHead(options.head, toNhwc());
    headNodes = head.nodes;
    inits.push(...head.initializers);
    out = head.output;
  } else if (options.pool) {
    const nchw = toNchw();
    const flat = (op: string) =>
      node(post, 'Flatten', [node(post, op, [nchw], unique(`${PREFIX}${op}`))], unique(`${PREFIX}${op}_flat`), [{ name: 'axis', i: 1 }]);
    out = options.pool === 'avg' ? flat('GlobalAveragePool') : options.pool === 'max' ? flat('GlobalMaxPool') : node(post, 'Concat', [flat('GlobalAveragePool'), flat('GlobalMaxPool')], unique(`${PREFIX}pooled`), [{ name: 'axis', i: 1 }]);
  } else {
    out = toNhwc();
  }
  const outputName = unique('features');
  const finalNodes = [...headNodes, ...post];
  node(finalNodes, 'Identity', [out], outputName);
  const kept = prune(model.nodes, [options.cut]);
  const bytes = encodeEdited(model, {
    pre,
    kept,
    post: finalNodes,
    initializers: inits,
    inputs: [{ name: inputName, dims: ['N', options.inputSize, options.inputSize, 3], elemType: options.inputType ?? 'float32' }],
    outputs: [outputName],
    metadata: options.metadata,
  });
  return { bytes, inputName, outputName };
}

/**
 * The whole model with preprocessing in front and every node output exposed as a graph output
 * (no type declared: ONNX Runtime infers it) — one run with a dummy image gives every tensor's shape.
 */
export function exposeAllTensors(model: ParsedOnnxModel, options: Pick<CutOnnxOptions, 'inputSize' | 'layout'>, what = 'ONNX model'): EditedOnnx & { tensors: string[] } {
  const original = imageInputOf(model, what);
  const inputName = model.nodes.some((n) => n.outputs.includes('image') || n.inputs.includes('image')) ? 'defectflow_image' : 'image';
  const pre: OnnxNode[] =
    options.layout === 'NCHW'
      ? [{ opType: 'Transpose', name: `${PREFIX}to_nchw`, inputs: [inputName], outputs: [original.name], attributes: [{ name: 'perm', ints: [0, 3, 1, 2] }] }]
      : [{ opType: 'Identity', name: `${PREFIX}input`, inputs: [inputName], outputs: [original.name] }];
  const tensors = [...new Set(model.nodes.flatMap((n) => n.outputs).filter((o) => o))];
  const bytes = encodeEdited(model, {
    pre,
    kept: model.nodes,
    post: [],
    initializers: [],
    inputs: [{ name: inputName, dims: [1, options.inputSize, options.inputSize, 3], elemType: 'float32' }],
    outputs: tensors,
  });
  return { bytes, inputName, outputName: tensors[tensors.length - 1] ?? '', tensors };
}

function encodeEdited(
  model: ParsedOnnxModel,
  parts: {
    pre: OnnxNode[];
    kept: OnnxNodeRef[];
    post: OnnxNode[];
    initializers: OnnxTensor[];
    inputs: { name: string; dims: (number | string)[]; elemType: 'float32' | 'uint8' }[];
    /** Output names; the types are left to ONNX Runtime. */
    outputs: string[];
    metadata?: Record<string, string>;
  },
): Uint8Array {
  const used = new Set(parts.kept.flatMap((n) => n.inputs));
  const w = new ProtoWriter();
  for (const f of model.modelFields) w.raw(f.raw);
  w.message(7, (g) => {
    for (const n of parts.pre) g.message(1, (nw) => writeNode(nw, n));
    for (const n of parts.kept) g.raw(n.raw);
    for (const n of parts.post) g.message(1, (nw) => writeNode(nw, n));
    g.string(2, model.graphName || 'backbone');
    for (const t of model.initializers) {
      if (!used.has(t.name)) continue;
      if (t.external) throw new OnnxReadError(`initializer "${t.name}" is stored in an external data file, which is not supported (export the model as one .onnx file)`);
      g.raw(t.raw);
    }
    for (const t of parts.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const f of model.graphExtra) g.raw(f.raw);
    for (const v of parts.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const name of parts.outputs) g.message(12, (vw) => vw.string(1, name));
  });
  for (const [key, value] of Object.entries(parts.metadata ?? {})) w.message(14, (m) => m.string(1, key).string(2, value));
  return w.finish();
}
