/**
 * A minimal protobuf *reader* for ONNX files a user brings (torchvision / timm exports): just enough
 * of onnx.proto to list a graph's nodes, inputs and initializers and to re-emit the parts we keep
 * byte for byte (onnx-edit.ts). Unknown fields are never interpreted, only carried.
 */

export interface ProtoField {
  field: number;
  wire: number;
  /** The whole field as it appeared (tag included): what re-emission copies. */
  raw: Uint8Array;
  /** varint value (wire 0) */
  int?: bigint;
  /** length-delimited payload (wire 2) */
  bytes?: Uint8Array;
}

export class OnnxReadError extends Error {
  readonly code = 'onnx_invalid';
  constructor(message: string) {
    super(message);
    this.name = 'OnnxReadError';
  }
}

export function readFields(buf: Uint8Array): ProtoField[] {
  const out: ProtoField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let v = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buf.length) throw new OnnxReadError('truncated protobuf (varint runs past the end)');
      const b = buf[at++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v;
      shift += 7n;
      if (shift > 70n) throw new OnnxReadError('malformed protobuf varint');
    }
  };
  while (at < buf.length) {
    const start = at;
    const tag = Number(varint());
    const field = tag >>> 3;
    const wire = tag & 7;
    const f: ProtoField = { field, wire, raw: buf };
    if (wire === 0) f.int = varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const len = Number(varint());
      if (at + len > buf.length) throw new OnnxReadError(`truncated protobuf (field ${field} claims ${len} bytes)`);
      f.bytes = buf.subarray(at, at + len);
      at += len;
    } else throw new OnnxReadError(`unsupported protobuf wire type ${wire} (field ${field}): not an ONNX file?`);
    if (at > buf.length) throw new OnnxReadError('truncated protobuf');
    f.raw = buf.subarray(start, at);
    out.push(f);
  }
  return out;
}

const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : '');

export interface OnnxNodeRef {
  raw: Uint8Array;
  opType: string;
  name: string;
  domain: string;
  inputs: string[];
  outputs: string[];
}

export interface OnnxValueRef {
  name: string;
  /** TensorProto.DataType (1 float, 2 uint8, 7 int64 …); 0 when absent. */
  elemType: number;
  /** A number, a symbolic name, or null when unknown. */
  dims: (number | string | null)[];
}

export interface OnnxInitializerRef {
  raw: Uint8Array;
  name: string;
  dims: number[];
  dataType: number;
  /** Stored in an external file (models over 2 GB): not supported here. */
  external: boolean;
}

export interface ParsedOnnxModel {
  /** Model-level fields other than the graph and metadata (ir_version, producer, opset_import …). */
  modelFields: ProtoField[];
  graphName: string;
  /** Graph-level fields we carry unchanged (sparse initializers, …): not nodes, inputs, outputs, value_info, initializers, name, doc. */
  graphExtra: ProtoField[];
  nodes: OnnxNodeRef[];
  initializers: OnnxInitializerRef[];
  /** Graph inputs that are not initializers (the real inputs). */
  inputs: OnnxValueRef[];
  outputs: OnnxValueRef[];
  /** Version of the default ("" / ai.onnx) opset. */
  opset: number;
  irVersion: number;
}

function parseValueInfo(b: Uint8Array): OnnxValueRef {
  let name = '';
  let elemType = 0;
  const dims: (number | string | null)[] = [];
  for (const f of readFields(b)) {
    if (f.field === 1) name = text(f.bytes);
    else if (f.field === 2 && f.bytes)
      for (const t of readFields(f.bytes)) {
        if (t.field !== 1 || !t.bytes) continue; // tensor_type
        for (const tt of readFields(t.bytes)) {
          if (tt.field === 1 && tt.int !== undefined) elemType = Number(tt.int);
          if (tt.field === 2 && tt.bytes)
            for (const d of readFields(tt.bytes)) {
              if (d.field !== 1 || !d.bytes) continue;
              let dim: number | string | null = null;
              for (const x of readFields(d.bytes)) {
                if (x.field === 1 && x.int !== undefined) dim = Number(x.int);
                if (x.field === 2) dim = text(x.bytes);
              }
              dims.push(dim);
            }
        }
      }
  }
  return { name, elemType, dims };
}

function parseNode(f: ProtoField): OnnxNodeRef {
  const node: OnnxNodeRef = { raw: f.raw, opType: '', name: '', domain: '', inputs: [], outputs: [] };
  for (const x of readFields(f.bytes as Uint8Array)) {
    if (x.field === 1) node.inputs.push(text(x.bytes));
    else if (x.field === 2) node.outputs.push(text(x.bytes));
    else if (x.field === 3) node.name = text(x.bytes);
    else if (x.field === 4) node.opType = text(x.bytes);
    else if (x.field === 7) node.domain = text(x.bytes);
  }
  return node;
}

function parseInitializer(f: ProtoField): OnnxInitializerRef {
  const t: OnnxInitializerRef = { raw: f.raw, name: '', dims: [], dataType: 0, external: false };
  for (const x of readFields(f.bytes as Uint8Array)) {
    if (x.field === 1) {
      if (x.int !== undefined) t.dims.push(Number(x.int));
      else if (x.bytes) for (const d of readFields(packedVarints(x.bytes))) t.dims.push(Number(d.int));
    } else if (x.field === 2 && x.int !== undefined) t.dataType = Number(x.int);
    else if (x.field === 8) t.name = text(x.bytes);
    else if (x.field === 14 && x.int === 1n) t.external = true;
  }
  return t;
}

/** Packed repeated varints re-framed as field-1 varints, so readFields can decode them. */
function packedVarints(b: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < b.length) {
    out.push(0x08);
    let byte: number;
    do {
      byte = b[i++] as number;
      out.push(byte);
    } while (byte >= 0x80 && i < b.length);
  }
  return Uint8Array.from(out);
}

/** Parses an ONNX ModelProto (nodes and value infos decoded, everything else kept raw). */
export function parseOnnxModel(bytes: Uint8Array, what = 'ONNX model'): ParsedOnnxModel {
  let fields: ProtoField[];
  try {
    fields = readFields(bytes);
  } catch (err) {
    throw new OnnxReadError(`${what} is not a readable ONNX file: ${err instanceof Error ? err.message : String(err)}`);
  }
  const graphField = fields.find((f) => f.field === 7 && f.bytes);
  if (!graphField?.bytes) throw new OnnxReadError(`${what} is not an ONNX model (no graph)`);
  let opset = 0;
  let irVersion = 0;
  for (const f of fields) {
    if (f.field === 1 && f.int !== undefined) irVersion = Number(f.int);
    if (f.field === 8 && f.bytes) {
      let domain = '';
      let version = 0;
      for (const x of readFields(f.bytes)) {
        if (x.field === 1) domain = text(x.bytes);
        if (x.field === 2 && x.int !== undefined) version = Number(x.int);
      }
      if (domain === '' || domain === 'ai.onnx') opset = version;
    }
  }
  const model: ParsedOnnxModel = {
    modelFields: fields.filter((f) => f.field !== 7 && f.field !== 14),
    graphName: '',
    graphExtra: [],
    nodes: [],
    initializers: [],
    inputs: [],
    outputs: [],
    opset,
    irVersion,
  };
  const rawInputs: OnnxValueRef[] = [];
  for (const f of readFields(graphField.bytes)) {
    if (f.field === 1) model.nodes.push(parseNode(f));
    else if (f.field === 2) model.graphName = text(f.bytes);
    else if (f.field === 5) model.initializers.push(parseInitializer(f));
    else if (f.field === 11) rawInputs.push(parseValueInfo(f.bytes as Uint8Array));
    else if (f.field === 12) model.outputs.push(parseValueInfo(f.bytes as Uint8Array));
    else if (f.field === 10 || f.field === 13) continue; // doc, value_info: dropped (shapes change with the batch)
    else model.graphExtra.push(f);
  }
  const inits = new Set(model.initializers.map((t) => t.name));
  model.inputs = rawInputs.filter((v) => !inits.has(v.name));
  return model;
}

/** Number of parameters: the elements of every float initializer. */
export function countOnnxParams(model: ParsedOnnxModel): number {
  return model.initializers.filter((t) => t.dataType === 1 || t.dataType === 10 || t.dataType === 16).reduce((a, t) => a + t.dims.reduce((x, y) => x * y, 1), 0);
}
