import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from './onnx-proto.ts';

/**
 * A value flowing through the converted graph. `shape` is the Keras (logical) shape with -1 for the
 * batch. Rank-4 values are *stored* NCHW inside the ONNX graph (ORT's CPU convolutions are NCHW);
 * everything else is stored as its logical shape.
 */
export interface Value {
  name: string;
  shape: number[];
  /** Set when the value is the bias-carrying output of a linear Conv we emitted (batch-norm folds into it). */
  conv?: { weight: Float32Array; bias: Float32Array; outChannels: number };
  /** Set when the value is a ZeroPadding2D result (a following valid conv absorbs the pads). */
  zeroPad?: { source: Value; pads: [number, number, number, number] };
}

/** Logical (NHWC) axis → storage (NCHW) axis for rank-4 values. */
export function storageAxis(rank: number, axis: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (rank !== 4) return a;
  return [0, 2, 3, 1][a] as number;
}

/** Collects nodes and initializers with unique names; removes what the outputs do not need. */
export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  private readonly names = new Set<string>();
  private readonly constants = new Map<string, string>();

  unique(base: string): string {
    const clean = base.replace(/[^A-Za-z0-9_./:-]/g, '_') || 'v';
    let name = clean;
    for (let i = 1; this.names.has(name); i++) name = `${clean}_${i}`;
    this.names.add(name);
    return name;
  }

  /** Adds a node with one output and returns that output's name. */
  node(opType: string, inputs: string[], outputBase: string, attributes?: OnnxAttribute[]): string {
    const out = this.unique(outputBase);
    this.nodes.push({ opType, name: out, inputs, outputs: [out], attributes });
    return out;
  }

  float(base: string, data: Float32Array, dims: number[]): string {
    const name = this.unique(base);
    this.initializers.push({ name, dims, data });
    return name;
  }

  /** Small shared constants (scalars, pad vectors), deduplicated by value. */
  constFloat(values: number[], dims: number[]): string {
    const key = `f:${dims.join('x')}:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.float('const', Float32Array.from(values), dims);
      this.constants.set(key, name);
    }
    return name;
  }

  constInt64(values: number[]): string {
    const key = `i:${values.join(',')}`;
    let name = this.constants.get(key);
    if (!name) {
      name = this.unique('const_i64');
      this.initializers.push({ name, dims: [values.length], data: BigInt64Array.from(values.map((v) => BigInt(v))) });
      this.constants.set(key, name);
    }
    return name;
  }

  /** The graph reduced to what `outputs` depend on (fused-away Pad nodes and their constants drop out). */
  build(name: string, inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): OnnxGraph {
    const needed = new Set(outputs.map((o) => o.name));
    const kept: OnnxNode[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i] as OnnxNode;
      if (!n.outputs.some((o) => needed.has(o))) continue;
      kept.push(n);
      for (const input of n.inputs) needed.add(input);
    }
    kept.reverse();
    return { name, nodes: kept, initializers: this.initializers.filter((t) => needed.has(t.name)), inputs, outputs };
  }
}
