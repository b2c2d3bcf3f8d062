import { ProtoWriter } from './protobuf.ts';

/**
 * The subset of onnx.proto (IR v7) the converter writes, as plain objects plus one encoder.
 * Field numbers are those of onnx/onnx.proto; names follow it so the mapping is easy to audit.
 */
export const ONNX_IR_VERSION = 7;
export const ONNX_OPSET = 13;

const FLOAT = 1;
const UINT8 = 2;
const INT64 = 7;

export type OnnxAttribute =
  | { name: string; i: number }
  | { name: string; f: number }
  | { name: string; s: string }
  | { name: string; ints: number[] }
  | { name: string; floats: number[] };

export interface OnnxNode {
  opType: string;
  name: string;
  inputs: string[];
  outputs: string[];
  attributes?: OnnxAttribute[];
}

export interface OnnxTensor {
  name: string;
  dims: number[];
  data: Float32Array | BigInt64Array;
}

/** A tensor graph input/output (float32 unless `elemType` says uint8); a string dim is symbolic (e.g. "N" for the batch). */
export interface OnnxValueInfo {
  name: string;
  dims: (number | string)[];
  elemType?: 'float32' | 'uint8';
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  initializers: OnnxTensor[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  graph: OnnxGraph;
  producerName: string;
  producerVersion: string;
  docString?: string;
  metadata?: Record<string, string>;
}

function writeAttribute(w: ProtoWriter, a: OnnxAttribute): void {
  w.string(1, a.name);
  if ('i' in a) w.int(20, 2).int(3, a.i);
  else if ('f' in a) w.int(20, 1).float(2, a.f);
  else if ('s' in a) w.int(20, 3).string(4, a.s);
  else if ('ints' in a) {
    w.int(20, 7);
    for (const v of a.ints) w.int(8, v);
  } else {
    w.int(20, 6);
    for (const v of a.floats) w.float(7, v);
  }
}

export function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.data instanceof Float32Array ? FLOAT : INT64);
  w.string(8, t.name);
  // raw_data is little-endian by spec; typed arrays are in host order, and every platform
  // onnxruntime-node ships for (x64, arm64) is little-endian.
  w.bytes(9, new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
}

export function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, v.elemType === 'uint8' ? UINT8 : FLOAT);
      tensor.message(2, (shape) => {
        for (const d of v.dims)
          shape.message(1, (dim) => (typeof d === 'string' ? dim.string(2, d) : dim.int(1, d)));
      });
    }),
  );
}

export function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const a of n.attributes ?? []) w.message(5, (aw) => writeAttribute(aw, a));
}

/** Serialises a model to ONNX protobuf bytes. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const w = new ProtoWriter();
  w.int(1, ONNX_IR_VERSION);
  w.string(2, model.producerName);
  w.string(3, model.producerVersion);
  if (model.docString) w.string(6, model.docString);
  w.message(7, (g) => {
    for (const n of model.graph.nodes) g.message(1, (nw) => writeNode(nw, n));
    g.string(2, model.graph.name);
    for (const t of model.graph.initializers) g.message(5, (tw) => writeTensor(tw, t));
    for (const v of model.graph.inputs) g.message(11, (vw) => writeValueInfo(vw, v));
    for (const v of model.graph.outputs) g.message(12, (vw) => writeValueInfo(vw, v));
  });
  w.message(8, (o) => o.string(1, '').int(2, ONNX_OPSET));
  for (const [key, value] of Object.entries(model.metadata ?? {})) w.message(14, (m) => m.string(1, key).string(2, value));
  return w.finish();
}
