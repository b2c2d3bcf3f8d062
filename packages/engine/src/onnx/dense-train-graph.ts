import { GraphBuilder } from './graph-builder.ts';
import { encodeOnnxModel, type OnnxValueInfo } from './onnx-proto.ts';

/** One dense layer of a head, as the training graph sees it. */
export interface DenseLayerShape {
  inSize: number;
  outSize: number;
  /** ReLU after this layer (hidden layers); the last layer is softmax. */
  relu: boolean;
  /** Dropout on this layer's input during training (the mask is fed per step). */
  dropout: boolean;
}

/**
 * The gradients of one training step of a dense softmax head as an ONNX graph, so that ONNX
 * Runtime's native GEMMs do the work a wasm/JS step spends most of its time on. The optimizer
 * update stays outside (an elementwise chain of ONNX ops per parameter costs more than the GEMMs).
 *
 * Inputs: `x` [B, in₀] (the first layer's input, dropout already applied), `mask{l}` [B, inₗ] for
 * later layers with dropout (0 or 1/(1−rate)), `target` [B, K] = wᵢ·onehot/B and `rowWeight`
 * [B, 1] = wᵢ/B (class-weighted mean cross-entropy), then `w{l}` [inₗ, outₗ] and `b{l}` [outₗ].
 * Outputs: `probs` [B, K], and `gw{l}`, `gb{l}` for every layer. The arithmetic is the
 * DenseStepper's: softmax cross-entropy gradient p·wᵢ/B − target, then the mask and ReLU gradients.
 */
export function buildDenseGradients(layers: DenseLayerShape[]): Uint8Array {
  const g = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [{ name: 'x', dims: ['B', layers[0]?.inSize ?? 0] }];
  layers.forEach((p, l) => {
    if (l > 0 && p.dropout) inputs.push({ name: `mask${l}`, dims: ['B', p.inSize] });
  });
  const k = layers[layers.length - 1]?.outSize ?? 0;
  inputs.push({ name: 'target', dims: ['B', k] }, { name: 'rowWeight', dims: ['B', 1] });
  pushParameters(inputs, layers);
  // Reserve the graph's own names so generated intermediates cannot collide with them.
  for (const i of inputs) g.unique(i.name);
  const { layerInput, outputs: hidden, probs } = addForward(g, layers, true);

  // Backward: dL/dz of the last layer, then down through the layers.
  const axis0 = g.constInt64([0]);
  const zero = g.constFloat([0], [1]);
  let dz = g.node('Sub', [g.node('Mul', [probs, 'rowWeight'], 'p_weighted'), 'target'], `dz${layers.length - 1}`);
  const outputs: OnnxValueInfo[] = [{ name: probs, dims: ['B', k] }];

  for (let l = layers.length - 1; l >= 0; l--) {
    const p = layers[l] as DenseLayerShape;
    const gw = g.node('Gemm', [layerInput[l] as string, dz], `gw${l}`, [{ name: 'transA', i: 1 }]);
    const gb = g.node('ReduceSum', [dz, axis0], `gb${l}`, [{ name: 'keepdims', i: 0 }]);
    outputs.push({ name: gw, dims: [p.inSize, p.outSize] }, { name: gb, dims: [p.outSize] });
    if (l === 0) break;
    // Through this layer's kernel (before its update), its input mask, and the ReLU below.
    let da = g.node('Gemm', [dz, `w${l}`, zero], `da${l}`, [{ name: 'transB', i: 1 }]);
    if (p.dropout) da = g.node('Mul', [da, `mask${l}`], `da_masked${l}`);
    const below = hidden[l - 1] as string;
    dz = g.node('Where', [g.node('Greater', [below, zero], `active${l - 1}`), da, zero], `dz${l - 1}`);
  }

  const graph = g.build('dense_gradients', inputs, outputs);
  return encodeOnnxModel({ producerName: 'defectflow', producerVersion: '0.1.0', graph });
}

/** The head's inference pass (no dropout): `x` [B, in₀] and the parameters → `probs` [B, K]. */
export function buildDenseForward(layers: DenseLayerShape[]): Uint8Array {
  const g = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [{ name: 'x', dims: ['B', layers[0]?.inSize ?? 0] }];
  pushParameters(inputs, layers);
  for (const i of inputs) g.unique(i.name);
  const { probs } = addForward(g, layers, false);
  const k = layers[layers.length - 1]?.outSize ?? 0;
  const graph = g.build('dense_forward', inputs, [{ name: probs, dims: ['B', k] }]);
  return encodeOnnxModel({ producerName: 'defectflow', producerVersion: '0.1.0', graph });
}

/** Graph inputs `w{l}` [inₗ, outₗ] and `b{l}` [outₗ] for every layer. */
function pushParameters(inputs: OnnxValueInfo[], layers: DenseLayerShape[]): void {
  layers.forEach((p, l) => {
    inputs.push({ name: `w${l}`, dims: [p.inSize, p.outSize] }, { name: `b${l}`, dims: [p.outSize] });
  });
}

/**
 * Gemm → ReLU per hidden layer, Gemm → Softmax last, from input `x` to the output `probs`; with
 * `masks`, each later layer's input is multiplied by its dropout mask input. Returns every
 * layer's input (for weight gradients) and output (for ReLU gradients).
 */
function addForward(g: GraphBuilder, layers: DenseLayerShape[], masks: boolean): { layerInput: string[]; outputs: string[]; probs: string } {
  const layerInput: string[] = [];
  const outputs: string[] = [];
  let a = 'x';
  layers.forEach((p, l) => {
    if (masks && l > 0 && p.dropout) a = g.node('Mul', [a, `mask${l}`], `in${l}`);
    layerInput.push(a);
    const z = g.node('Gemm', [a, `w${l}`, `b${l}`], `z${l}`);
    a = p.relu ? g.node('Relu', [z], `h${l}`) : g.node('Softmax', [z], 'probs', [{ name: 'axis', i: 1 }]);
    outputs.push(a);
  });
  return { layerInput, outputs, probs: a };
}
