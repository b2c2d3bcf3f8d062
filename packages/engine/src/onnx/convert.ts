import * as tf from '@tensorflow/tfjs';
import { GraphBuilder, type Value } from './graph-builder.ts';
import { converterFor, type LayerContext, UnsupportedLayerError } from './layers.ts';
import { encodeOnnxModel, type OnnxGraph, type OnnxValueInfo } from './onnx-proto.ts';

export type OnnxPooling = 'avg' | 'max' | 'avgmax';

export interface ConvertToOnnxOptions {
  /** Spatial size for inputs whose height/width the model leaves open; must match a fixed one. */
  inputSize?: number;
  /** 'dynamic' (default): any batch size; a number fixes it. */
  batch?: 'dynamic' | number;
  /** Pool the (single, rank-4) output over space inside the graph: [N,C] ('avgmax': [N,2C], avg first). */
  pool?: OnnxPooling | null;
  /**
   * 'float32' (default): the input is what the TF.js model takes. 'uint8': the graph takes uint8
   * (0..255, e.g. decoded RGB pixels) and casts to float32 itself before the model's first layer.
   */
  inputType?: 'float32' | 'uint8';
  /** Extra metadata_props written into the model (labels, preprocessing notes, ...). */
  metadata?: Record<string, string>;
}

export interface OnnxConversion {
  bytes: Uint8Array;
  inputName: string;
  outputName: string;
  /** Input shape without the batch: [H, W, C] for images. */
  inputShape: number[];
  /** Output shape without the batch, in TF.js (NHWC) order. */
  outputShape: number[];
}

/** The converted graph before encoding (for composing it with other graphs: onnx-edit.ts). */
export interface OnnxGraphConversion {
  graph: OnnxGraph;
  inputName: string;
  outputName: string;
  inputShape: number[];
  outputShape: number[];
  /** Rank of the model output before pooling. */
  outputRank: number;
  inputType: 'float32' | 'uint8';
}

export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';

type SymbolicTensor = tf.SymbolicTensor;
type Layer = tf.layers.Layer;

export interface Call {
  layer: Layer;
  inputs: SymbolicTensor[];
  outputs: SymbolicTensor[];
}

function isModel(layer: Layer): layer is tf.LayersModel {
  return layer instanceof tf.LayersModel;
}

/** The layer calls `outputs` depend on, inputs first (depth-first post-order). */
export function callsFor(outputs: SymbolicTensor[], stopAt: Set<number>): Call[] {
  const seen = new Set<string>();
  const order: Call[] = [];
  const visit = (t: SymbolicTensor): void => {
    if (stopAt.has(t.id)) return;
    const layer = t.sourceLayer;
    const key = `${layer.name}#${t.nodeIndex}`;
    if (seen.has(key)) return;
    seen.add(key);
    const node = layer.inboundNodes[t.nodeIndex];
    if (!node) throw new Error(`ONNX conversion: tensor ${t.name} has no producing node in layer "${layer.name}"`);
    for (const input of node.inputTensors) visit(input);
    order.push({ layer, inputs: node.inputTensors, outputs: node.outputTensors });
  };
  for (const o of outputs) visit(o);
  return order;
}

/**
 * Emits the graph of `model` applied to `bound` (values for model.inputs) into `g`. Nested models
 * (a Sequential inside a functional model) are inlined, each call with its own value scope.
 */
function emitModel(model: tf.LayersModel, bound: Value[], g: GraphBuilder): Value[] {
  const values = new Map<number, Value>();
  const stopAt = new Set<number>();
  model.inputs.forEach((t, i) => {
    const v = bound[i];
    if (!v) throw new Error(`ONNX conversion: model "${model.name}" expects ${model.inputs.length} inputs`);
    values.set(t.id, v);
    stopAt.add(t.id);
  });
  const calls = callsFor(model.outputs, stopAt);
  const readers = new Map<number, number>();
  for (const c of calls) for (const t of c.inputs) readers.set(t.id, (readers.get(t.id) ?? 0) + 1);
  for (const t of model.outputs) readers.set(t.id, (readers.get(t.id) ?? 0) + 1);
  const countOf = new WeakMap<Value, number>();
  const valueFor = (t: SymbolicTensor): Value => {
    const v = values.get(t.id);
    if (!v) throw new Error(`ONNX conversion: tensor ${t.name} was used before it was computed`);
    return v;
  };
  for (const call of calls) {
    const { layer } = call;
    const className = layer.getClassName();
    const inputs = call.inputs.map(valueFor);
    let outputs: Value[];
    if (className === 'InputLayer') {
      throw new Error(`ONNX conversion: input layer "${layer.name}" is not one of the model's inputs`);
    } else if (isModel(layer)) {
      outputs = emitModel(layer, inputs, g);
    } else {
      const convert = converterFor(className);
      if (!convert) throw new UnsupportedLayerError(layer.name, className);
      const ctx: LayerContext = {
        layer,
        className,
        config: layer.getConfig() as Record<string, unknown>,
        inputs,
        g,
        consumers: (v) => countOf.get(v) ?? Number.POSITIVE_INFINITY,
      };
      outputs = [convert(ctx)];
    }
    if (outputs.length !== call.outputs.length)
      throw new UnsupportedLayerError(layer.name, className, `has ${call.outputs.length} outputs; only single-output layers are supported`);
    call.outputs.forEach((t, i) => {
      let v = outputs[i] as Value;
      // A layer that passed its input through (linear activation) or a nested model's output: a
      // fresh value without fusion hints, so a later fold cannot change what other readers see.
      if (countOf.has(v) || isModel(layer)) v = { name: v.name, shape: v.shape };
      countOf.set(v, readers.get(t.id) ?? 0);
      values.set(t.id, v);
    });
  }
  return model.outputs.map(valueFor);
}

function resolveInputShape(model: tf.LayersModel, inputSize?: number): number[] {
  if (model.inputs.length !== 1) throw new Error(`ONNX conversion: the model has ${model.inputs.length} inputs; exactly one is supported`);
  const shape = (model.inputs[0] as SymbolicTensor).shape.slice(1);
  if (shape.length === 3) {
    const c = shape[2];
    if (c == null) throw new Error('ONNX conversion: the model input has an unknown channel count');
    const hw = [shape[0], shape[1]].map((d, i) => {
      if (d == null) {
        if (inputSize == null) throw new Error(`ONNX conversion: the model input ${i === 0 ? 'height' : 'width'} is open; pass inputSize`);
        return inputSize;
      }
      if (inputSize != null && d !== inputSize)
        throw new Error(`ONNX conversion: inputSize ${inputSize} does not match the model's fixed input ${shape[0]}×${shape[1]}`);
      return d;
    });
    return [...hw, c];
  }
  if (shape.some((d) => d == null)) throw new Error(`ONNX conversion: the model input shape [${shape.join(',')}] has open dimensions`);
  return shape as number[];
}

/**
 * Converts a TF.js layers model to ONNX (opset 13). The ONNX input is what the TF.js model takes
 * (NHWC float32 — any preprocessing layers of the model are converted with it); inside, image
 * tensors are NCHW, and the output is returned in TF.js order so values match element for element.
 * Batch-norm is folded into the preceding convolution and ZeroPadding2D into the following one.
 */
export function convertLayersModelToOnnxGraph(model: tf.LayersModel, options: ConvertToOnnxOptions = {}): OnnxGraphConversion {
  if (model.outputs.length !== 1) throw new Error(`ONNX conversion: the model has ${model.outputs.length} outputs; exactly one is supported`);
  const inputShape = resolveInputShape(model, options.inputSize);
  const batch = options.batch ?? 'dynamic';
  if (batch !== 'dynamic' && !(Number.isInteger(batch) && batch > 0)) throw new Error(`ONNX conversion: batch must be 'dynamic' or a positive integer, got ${batch}`);
  const batchDim = batch === 'dynamic' ? 'N' : batch;
  const g = new GraphBuilder();
  g.unique(ONNX_INPUT);
  g.unique(ONNX_OUTPUT);
  const inputType = options.inputType ?? 'float32';
  const source = inputType === 'uint8' ? g.node('Cast', [ONNX_INPUT], 'input_float', [{ name: 'to', i: 1 }]) : ONNX_INPUT;
  let input: Value = { name: source, shape: [-1, ...inputShape] };
  if (inputShape.length === 3)
    input = { name: g.node('Transpose', [source], 'input_nchw', [{ name: 'perm', ints: [0, 3, 1, 2] }]), shape: input.shape };
  const [out] = emitModel(model, [input], g) as [Value];
  let outputShape = out.shape.slice(1);
  const rank = out.shape.length;
  let last = out.name;
  if (options.pool) {
    if (rank !== 4) throw new Error(`ONNX conversion: pool "${options.pool}" needs a rank-4 output, got rank ${rank}`);
    const channels = out.shape[3] as number;
    const flat = (op: string) => g.node('Flatten', [g.node(op, [out.name], `pool_${op}`)], `pooled_${op}`, [{ name: 'axis', i: 1 }]);
    if (options.pool === 'avg') last = flat('GlobalAveragePool');
    else if (options.pool === 'max') last = flat('GlobalMaxPool');
    else last = g.node('Concat', [flat('GlobalAveragePool'), flat('GlobalMaxPool')], 'pooled', [{ name: 'axis', i: 1 }]);
    outputShape = [options.pool === 'avgmax' ? channels * 2 : channels];
  } else if (rank === 4) {
    last = g.node('Transpose', [out.name], 'output_nhwc', [{ name: 'perm', ints: [0, 2, 3, 1] }]);
  }
  // The graph output gets the fixed name `output`.
  g.nodes.push({ opType: 'Identity', name: ONNX_OUTPUT, inputs: [last], outputs: [ONNX_OUTPUT] });
  const inputs: OnnxValueInfo[] = [{ name: ONNX_INPUT, dims: [batchDim, ...inputShape], elemType: inputType }];
  const outputs: OnnxValueInfo[] = [{ name: ONNX_OUTPUT, dims: [batchDim, ...outputShape] }];
  const graph = g.build(model.name || 'model', inputs, outputs);
  return { graph, inputName: ONNX_INPUT, outputName: ONNX_OUTPUT, inputShape, outputShape, outputRank: rank, inputType };
}

/**
 * Converts a TF.js layers model to ONNX (opset 13): see convertLayersModelToOnnxGraph, whose graph this encodes.
 */
export function convertLayersModelToOnnxDetailed(model: tf.LayersModel, options: ConvertToOnnxOptions = {}): OnnxConversion {
  const { graph, inputShape, outputShape, outputRank: rank, inputType } = convertLayersModelToOnnxGraph(model, options);
  const bytes = encodeOnnxModel({
    graph,
    producerName: 'defectflow',
    producerVersion: '0.1.0',
    docString: `Converted from the TF.js layers model "${model.name}". Input: NHWC ${inputType === 'uint8' ? 'uint8 (cast to float32 in the graph)' : 'float32'} as the TF.js model takes it.`,
    metadata: {
      input_layout: 'NHWC',
      input_type: inputType,
      output_layout: options.pool ? 'NC' : rank === 4 ? 'NHWC' : 'plain',
      source: 'tfjs-layers',
      ...options.metadata,
    },
  });
  return { bytes, inputName: ONNX_INPUT, outputName: ONNX_OUTPUT, inputShape, outputShape };
}

/** ONNX model bytes of a TF.js layers model; see convertLayersModelToOnnxDetailed. */
export function convertLayersModelToOnnx(model: tf.LayersModel, options: ConvertToOnnxOptions = {}): Uint8Array {
  return convertLayersModelToOnnxDetailed(model, options).bytes;
}
