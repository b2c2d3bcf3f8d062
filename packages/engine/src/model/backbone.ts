import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.ts';
import { type BackboneSource, type FreezeMode, MOBILENET_CUTS } from '../constants.ts';
import { type FitSpec, type ImageFit, fitSignature, normalizeFit } from '../data/fit.ts';
import {
  after,
  asModelTopology,
  cleanBoundaries,
  cloneJson,
  truncate,
  type FunctionalJson,
  type LayerJson,
} from './topology.ts';
import { copyWeightsByLayerName, loadNamedWeights, readModelFolder } from './weights.ts';
import type { FrozenGraph } from '../onnx/runtime-types.ts';
import type { OnnxBackbonePart, OnnxBackboneSettings } from './onnx-backbone.ts';

// Written once in the browser-safe constants module (the node definitions' enums come from there too).
export { type BackboneSource, type FreezeMode, MOBILENET_CUTS };

/**
 * 'unit': x/255 — what nsfwjs feeds its MobileNetV2, and measurably the better choice for these
 * weights (frozen-feature accuracy on NEU-like data 85–92 % vs 55–68 % with 'mobilenet_v2');
 * 'mobilenet_v2': x/127.5 − 1 (Keras ImageNet MobileNetV2); 'none': raw 0..255.
 */
export type Preprocessing = 'mobilenet_v2' | 'unit' | 'none';

export const MOBILENET_V2_CREDIT =
  'MobileNetV2 (alpha 1.0) weights bundled in the nsfwjs npm package: ImageNet-initialised, then fine-tuned by nsfwjs ' +
  'for content classification (blocks 11 and above were retrained there; blocks 0–10 keep their ImageNet values). ' +
  'Not a pure ImageNet checkpoint.';

export interface LoadBackboneOptions {
  source?: BackboneSource;
  inputSize?: number;
  /** Layer the feature extractor ends at (MobileNetV2 names; for custom, `customLayer` wins). */
  cutAt?: string;
  /** custom: folder (or model.json) of a TF.js layers model. */
  modelPath?: string;
  /** custom: layer to cut at (default: the model's last layer). */
  customLayer?: string;
  /** scratch: seed of the random init. */
  seed?: number;
  /** Default 'unit' (see Preprocessing). */
  preprocessing?: Preprocessing;
  /** How non-square images become the square input (data/fit.ts). Default 'stretch'. */
  fit?: ImageFit;
  /** fit 'tiles': most tiles per image (default 4). */
  maxTiles?: number;
  /** onnx: the .onnx file (already confined to its root by the caller). */
  onnxFile?: string;
  /** onnx: settings over the sidecar's (model/onnx-backbone.ts); `inputSize` above applies only where the graph and the sidecar leave the size open. */
  onnx?: Partial<OnnxBackboneSettings>;
}

export interface Backbone {
  source: BackboneSource;
  /** image batch [n,h,w,3] float 0..255 → feature map; preprocessing is its first layer. Null for an ONNX backbone. */
  model: tf.LayersModel | null;
  /** The same graph as JSON, for splitting and composing. Null for an ONNX backbone. */
  topology: FunctionalJson | null;
  /** Set for source 'onnx': the imported graph (frozen-only, runs in ONNX Runtime). */
  onnx?: OnnxBackbonePart;
  inputSize: number;
  preprocessing: Preprocessing;
  /** Aspect handling applied wherever images are decoded for this backbone (train, evaluate, export, predict). */
  fit: FitSpec;
  cutAt: string;
  /** Ordered layer names where the model can be split (one tensor crosses): what freeze may name. */
  blockNames: string[];
  /** Feature map shape without the batch dimension. */
  outputShape: number[];
  /** Stable string for cache keys (source, weights identity, size, cut, preprocessing, fit). */
  signature: string;
  describe(): string;
}

const INPUT_NAME = 'image';
const PREPROCESS_NAME = 'preprocess';

interface Artifacts {
  topology: FunctionalJson;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
  id: string;
}

let mobilenetArtifacts: Artifacts | undefined;

/** Reads the Keras MobileNetV2 that nsfwjs bundles as two UMD JS modules (topology + base64 weights). */
function loadMobileNetArtifacts(): Artifacts {
  if (mobilenetArtifacts) return mobilenetArtifacts;
  const require = createRequire(import.meta.url);
  const nsfwMain = require.resolve('nsfwjs');
  const root = nsfwMain.slice(0, nsfwMain.lastIndexOf('/dist/'));
  const modelJs = require(`${root}/dist/models/mobilenet_v2/model.min.js`) as {
    modelTopology: { model_config: { config: FunctionalJson } };
    weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  };
  const shard = require(`${root}/dist/models/mobilenet_v2/group1-shard1of1.min.js`) as string;
  const bytes = Buffer.from(shard, 'base64');
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  mobilenetArtifacts = {
    topology: modelJs.modelTopology.model_config.config,
    weightSpecs: modelJs.weightsManifest.flatMap((g) => g.weights),
    weightData,
    id: `nsfwjs-mobilenet_v2-${createHash('sha256').update(bytes).digest('hex').slice(0, 12)}`,
  };
  return mobilenetArtifacts;
}

function rescalingFor(p: Preprocessing): { scale: number; offset: number } {
  if (p === 'mobilenet_v2') return { scale: 1 / 127.5, offset: -1 };
  if (p === 'unit') return { scale: 1 / 255, offset: 0 };
  return { scale: 1, offset: 0 };
}

/**
 * Replaces the model's input by `image` [null,s,s,3] (0..255) followed by a Rescaling layer, so the
 * saved graph carries its own preprocessing. Trainability is ours to set later: all layers trainable.
 */
function withImageInput(model: FunctionalJson, inputSize: number | null, pre: Preprocessing, shape3: number[]): FunctionalJson {
  const oldInput = (model.input_layers[0] as [string, number, number])[0];
  const inputLayer: LayerJson = {
    name: INPUT_NAME,
    class_name: 'InputLayer',
    config: { name: INPUT_NAME, batch_input_shape: [null, inputSize ?? shape3[0] ?? null, inputSize ?? shape3[1] ?? null, 3], dtype: 'float32', sparse: false },
    inbound_nodes: [],
  };
  const { scale, offset } = rescalingFor(pre);
  const rescale: LayerJson = {
    name: PREPROCESS_NAME,
    class_name: 'Rescaling',
    config: { name: PREPROCESS_NAME, scale, offset, trainable: false, dtype: 'float32' },
    inbound_nodes: [[[INPUT_NAME, 0, 0, {}]]],
  };
  const layers = model.layers
    .filter((l) => l.name !== oldInput)
    .map((l) => {
      const c = cloneJson(l);
      c.config.trainable = true;
      c.inbound_nodes = c.inbound_nodes.map((node) =>
        node.map((ref) => (ref[0] === oldInput ? [PREPROCESS_NAME, 0, 0, ref[3] ?? {}] : ref)),
      );
      return c;
    });
  return { ...model, layers: [inputLayer, rescale, ...layers], input_layers: [[INPUT_NAME, 0, 0]] };
}

/** A Sequential config (list of layers) as a functional one. */
function toFunctional(topology: Record<string, unknown>): FunctionalJson {
  const cls = topology.class_name as string | undefined;
  const config = topology.config as Record<string, unknown> | unknown[] | undefined;
  if ((cls === 'Model' || cls === 'Functional') && config && !Array.isArray(config)) return config as unknown as FunctionalJson;
  if (cls === 'Sequential') {
    const layerList = (Array.isArray(config) ? config : (config?.layers as unknown[])) as { class_name: string; config: Record<string, unknown> }[];
    const first = layerList[0];
    const shape = (first?.config.batch_input_shape ?? first?.config.batchInputShape) as (number | null)[] | undefined;
    if (!first || !shape) throw new Error('custom Sequential model: the first layer has no batch_input_shape');
    const layers: LayerJson[] = [
      { name: 'seq_input', class_name: 'InputLayer', config: { name: 'seq_input', batch_input_shape: shape, dtype: 'float32' }, inbound_nodes: [] },
    ];
    let prev = 'seq_input';
    for (const l of layerList) {
      if (l.class_name === 'InputLayer') continue;
      const name = l.config.name as string;
      const c = cloneJson(l.config);
      delete c.batch_input_shape;
      delete c.batchInputShape;
      layers.push({ name, class_name: l.class_name, config: { ...c, name }, inbound_nodes: [[[prev, 0, 0, {}]]] });
      prev = name;
    }
    return { name: 'sequential', layers, input_layers: [['seq_input', 0, 0]], output_layers: [[prev, 0, 0]] };
  }
  throw new Error(`custom model: unsupported topology class "${cls ?? 'unknown'}" (need a Keras/TF.js layers model)`);
}

/** Builds a LayersModel from JSON with freshly initialised weights. */
export async function modelFromTopology(topology: FunctionalJson): Promise<tf.LayersModel> {
  return tf.models.modelFromJSON({ modelTopology: asModelTopology(topology) } as unknown as tf.io.ModelJSON);
}

/** Seeded He-normal kernels, zero biases, identity batch-norm: "from scratch" that is reproducible. */
function seededInit(model: tf.LayersModel, seed: number): void {
  let k = 0;
  for (const layer of model.layers) {
    const values = layer.getWeights().map((w, i) => {
      const name = layer.weights[i]?.originalName ?? '';
      k++;
      if (/(kernel|depthwise_kernel)$/.test(name)) {
        const shape = w.shape;
        const fanIn = shape.length === 4 ? (shape[0] as number) * (shape[1] as number) * (name.endsWith('depthwise_kernel') ? 1 : (shape[2] as number)) : (shape[0] as number);
        return tf.randomNormal(shape, 0, Math.sqrt(2 / Math.max(1, fanIn)), 'float32', seed * 1009 + k);
      }
      if (/(gamma|moving_variance)$/.test(name)) return tf.ones(w.shape);
      return tf.zeros(w.shape);
    });
    if (values.length) {
      layer.setWeights(values);
      tf.dispose(values);
    }
  }
}

function describeBackbone(b: Omit<Backbone, 'describe'>): string {
  const where =
    b.source === 'mobilenet_v2'
      ? MOBILENET_V2_CREDIT
      : b.source === 'scratch'
        ? 'MobileNetV2 architecture with random (seeded) weights — a baseline for comparison.'
        : 'User-provided TF.js layers model.';
  const fit =
    b.fit.fit === 'stretch' ? '' : b.fit.fit === 'letterbox' ? ' (letterboxed, aspect kept)' : ` (up to ${b.fit.maxTiles} square tiles per image, max over tiles)`;
  return `${where} Input ${b.inputSize}×${b.inputSize}${fit}, cut at ${b.cutAt}, features ${b.outputShape.join('×')}.`;
}

/** A backbone that is a TF.js layers model (every source but 'onnx'). */
export interface TfjsBackbone extends Backbone {
  model: tf.LayersModel;
  topology: FunctionalJson;
}

export function loadBackbone(options?: LoadBackboneOptions & { source?: Exclude<BackboneSource, 'onnx'> }): Promise<TfjsBackbone>;
export function loadBackbone(options: LoadBackboneOptions): Promise<Backbone>;
export async function loadBackbone(options: LoadBackboneOptions = {}): Promise<Backbone> {
  await initBackend(); // idempotent: keeps whatever an earlier initBackend({prefer}) chose
  const source = options.source ?? 'mobilenet_v2';
  if (source === 'onnx') {
    if (!options.onnxFile) throw new Error('backbone source "onnx" needs onnxFile (an .onnx file)');
    const { loadOnnxBackbone } = await import('./onnx-backbone.ts');
    return loadOnnxBackbone({ ...options.onnx, onnxFile: options.onnxFile, fit: options.fit, fallbackInputSize: options.inputSize });
  }
  const inputSize = options.inputSize ?? 160;
  const preprocessing = options.preprocessing ?? 'unit';
  const fit = normalizeFit({ fit: options.fit, maxTiles: options.maxTiles });
  if (!Number.isInteger(inputSize) || inputSize < 32 || inputSize > 320)
    throw new Error(`backbone inputSize must be an integer 32..320, got ${inputSize}`);
  let base: FunctionalJson;
  let weights: { specs: tf.io.WeightsManifestEntry[]; data: ArrayBuffer } | null = null;
  let weightsId: string;
  let cutAt: string;
  let fixedShape: number[] = [];
  if (source === 'custom') {
    if (!options.modelPath) throw new Error('backbone source "custom" needs modelPath (a folder with model.json)');
    const folder = await readModelFolder(options.modelPath);
    base = toFunctional(folder.json.modelTopology.model_config
      ? (folder.json.modelTopology.model_config as Record<string, unknown>)
      : folder.json.modelTopology);
    weights = { specs: folder.weightSpecs, data: folder.weightData };
    weightsId = `custom-${createHash('sha256').update(new Uint8Array(folder.weightData)).update(JSON.stringify(base)).digest('hex').slice(0, 12)}`;
    const inputLayer = base.layers.find((l) => l.name === base.input_layers[0]?.[0]);
    fixedShape = ((inputLayer?.config.batch_input_shape as (number | null)[] | undefined) ?? []).slice(1, 3).map((v) => v ?? 0);
    cutAt = options.customLayer || (base.output_layers[0]?.[0] as string);
    if (!base.layers.some((l) => l.name === cutAt))
      throw new Error(`custom model ${options.modelPath} has no layer "${cutAt}" (customLayer)`);
  } else {
    const art = loadMobileNetArtifacts();
    base = art.topology;
    cutAt = options.cutAt ?? 'block_13_expand_relu';
    if (!base.layers.some((l) => l.name === cutAt && l.class_name !== 'InputLayer'))
      throw new Error(`backbone cutAt "${cutAt}" is not a MobileNetV2 layer (try one of ${MOBILENET_CUTS.join(', ')})`);
    if (base.layers.findIndex((l) => l.name === cutAt) > base.layers.findIndex((l) => l.name === 'out_relu'))
      throw new Error(`backbone cutAt "${cutAt}" is part of the nsfwjs classifier head; cut at out_relu or earlier`);
    if (source === 'mobilenet_v2') weights = { specs: art.weightSpecs, data: art.weightData };
    weightsId = source === 'mobilenet_v2' ? art.id : `scratch-seed${options.seed ?? 42}`;
  }
  // Custom models with a fixed spatial input keep it; MobileNetV2's convs take any size.
  const keepsSize = source === 'custom' && fixedShape.length === 2 && fixedShape.every((v) => v > 0);
  const size = keepsSize ? (fixedShape[0] as number) : inputSize;
  const topology = withImageInput(truncate(base, cutAt), keepsSize ? null : size, preprocessing, fixedShape);
  const model = await modelFromTopology(topology);
  if (weights) loadNamedWeights(model, weights.data, weights.specs);
  else seededInit(model, options.seed ?? 42);
  const outputShape = (model.outputs[0]?.shape ?? []).slice(1).map((v) => v ?? 0);
  const partial: Omit<Backbone, 'describe'> = {
    source,
    model,
    topology,
    inputSize: size,
    preprocessing,
    fit,
    cutAt,
    blockNames: cleanBoundaries(topology).filter((n) => n !== PREPROCESS_NAME),
    outputShape,
    signature: `${weightsId}|${size}|${cutAt}|${preprocessing}${fitSignature(fit)}`,
  };
  return { ...partial, describe: () => describeBackbone(partial) };
}

export interface FreezeOptions {
  mode?: FreezeMode;
  /** upTo: everything up to and including this layer is frozen. */
  upToBlock?: string;
  /** staged: head-only epochs before unfreezing. */
  headEpochs?: number;
  /** staged: top K blocks unfrozen after the head-only epochs. */
  unfreezeBlocks?: number;
  /** staged: learning-rate multiplier of the fine-tune phase. */
  fineTuneLrFactor?: number;
}

export interface StagedSchedule {
  headEpochs: number;
  fineTuneLrFactor: number;
}

export interface FrozenBackbone extends Backbone {
  mode: FreezeMode;
  /** Last frozen layer; its output is what the feature cache stores. */
  boundary: string;
  boundaryShape: number[];
  /** image → boundary activations (shares layers with `model`; the cut graph for ONNX). Run once per image. */
  frozen: tf.LayersModel | FrozenGraph;
  /** boundary activations → backbone output, trained; null when everything is frozen. */
  trainable: tf.LayersModel | null;
  trainableTopology: FunctionalJson | null;
  staged: StagedSchedule | null;
  notes: string[];
}

/** Block prefix of a MobileNetV2-style layer name (block_12_expand → block_12). */
function blockOf(name: string): string {
  const m = /^(block_\d+|expanded_conv|Conv1|bn_Conv1|Conv_1|out_relu)/.exec(name);
  if (!m) return name;
  const b = m[1] as string;
  if (b === 'bn_Conv1' || b === 'Conv1') return 'Conv1';
  if (b === 'out_relu') return 'Conv_1';
  return b;
}

function pickStagedBoundary(backbone: TfjsBackbone, k: number): string {
  const layers = backbone.topology.layers.filter((l) => l.class_name !== 'InputLayer' && l.name !== PREPROCESS_NAME);
  const blocks: string[] = [];
  for (const l of layers) {
    const b = blockOf(l.name);
    if (blocks[blocks.length - 1] !== b) blocks.push(b);
  }
  const clean = new Set(backbone.blockNames);
  // The boundary is the last clean layer before the top-k blocks begin.
  const firstTrainableBlock = blocks[Math.max(0, blocks.length - k)];
  let boundary = backbone.blockNames[0] ?? PREPROCESS_NAME;
  for (const l of layers) {
    if (blockOf(l.name) === firstTrainableBlock) break;
    if (clean.has(l.name)) boundary = l.name;
  }
  return boundary;
}

/** Splits a backbone at the freeze boundary into a frozen extractor and a trainable tail. */
/** A frozen TF.js backbone: the frozen part is a TF.js model. */
export type TfjsFrozenBackbone = FrozenBackbone & TfjsBackbone & { frozen: tf.LayersModel };

export function freezeBackbone(backbone: TfjsBackbone, options?: FreezeOptions): Promise<TfjsFrozenBackbone>;
export function freezeBackbone(backbone: Backbone, options?: FreezeOptions): Promise<FrozenBackbone>;
export async function freezeBackbone(backbone: Backbone, options: FreezeOptions = {}): Promise<FrozenBackbone> {
  const mode = options.mode ?? 'all';
  if (backbone.onnx || !backbone.model || !backbone.topology) return freezeOnnx(backbone, mode);
  const tfb = backbone as TfjsBackbone;
  const notes: string[] = [];
  let boundary = backbone.cutAt;
  if (mode === 'upTo') {
    const wanted = options.upToBlock ?? '';
    const idx = tfb.topology.layers.findIndex((l) => l.name === wanted);
    if (idx < 0)
      throw new Error(`freeze upToBlock "${wanted}" is not a layer of this backbone (cut at ${backbone.cutAt}); try one of ${backbone.blockNames.slice(-8).join(', ')}`);
    // Snap forward to the next clean boundary so a single tensor crosses (no cut inside a residual block).
    const clean = new Set(backbone.blockNames);
    boundary = tfb.topology.layers.slice(idx).find((l) => clean.has(l.name))?.name ?? backbone.cutAt;
    if (boundary !== wanted) notes.push(`freeze boundary moved from ${wanted} to ${boundary} (the first point after it not inside a residual block)`);
  } else if (mode === 'staged') {
    boundary = pickStagedBoundary(tfb, Math.max(1, options.unfreezeBlocks ?? 2));
  }
  const frozen =
    boundary === backbone.cutAt
      ? tfb.model
      : tf.model({ inputs: tfb.model.inputs, outputs: tfb.model.getLayer(boundary).output as tf.SymbolicTensor });
  const boundaryShape = (frozen.outputs[0]?.shape ?? []).slice(1).map((v) => v ?? 0);
  let trainable: tf.LayersModel | null = null;
  let trainableTopology: FunctionalJson | null = null;
  if (boundary !== backbone.cutAt) {
    trainableTopology = after(tfb.topology, boundary, boundaryShape);
    trainable = await modelFromTopology(trainableTopology);
    copyWeightsByLayerName(trainable, [tfb.model]);
  }
  const staged =
    mode === 'staged'
      ? { headEpochs: options.headEpochs ?? 5, fineTuneLrFactor: options.fineTuneLrFactor ?? 0.1 }
      : null;
  const result: TfjsFrozenBackbone = {
    ...tfb,
    mode,
    boundary,
    boundaryShape,
    frozen,
    trainable,
    trainableTopology,
    staged,
    notes,
    signature: backbone.signature,
    describe: () =>
      `${backbone.describe()} Frozen up to ${boundary}${trainable ? `; ${trainable.layers.length - 1} layers after it are trained` : ' (everything frozen)'}${staged ? `, staged: ${staged.headEpochs} head-only epochs then fine-tune at lr×${staged.fineTuneLrFactor}` : ''}.`,
  };
  return result;
}

export class FrozenOnlyError extends Error {
  readonly code = 'backbone_frozen_only';
  constructor(message: string) {
    super(message);
    this.name = 'FrozenOnlyError';
  }
}

/** An ONNX backbone is frozen whole: its graph runs in ONNX Runtime, nothing of it is trained. */
function freezeOnnx(backbone: Backbone, mode: FreezeMode): FrozenBackbone {
  const graph = backbone.onnx?.graph;
  if (!graph) throw new Error('freeze: the backbone has neither a TF.js model nor an ONNX graph');
  if (mode !== 'all')
    throw new FrozenOnlyError(
      `freeze mode "${mode}": this backbone is frozen-only (an imported ONNX graph runs in ONNX Runtime and none of its layers can be trained); use mode "all"`,
    );
  return {
    ...backbone,
    mode,
    boundary: backbone.cutAt,
    boundaryShape: backbone.outputShape,
    frozen: graph,
    trainable: null,
    trainableTopology: null,
    staged: null,
    notes: [],
    describe: () => `${backbone.describe()} Everything frozen (ONNX backbones are frozen-only).`,
  };
}

/** True when `b` went through freezeBackbone. */
export function isFrozenBackbone(b: Backbone): b is FrozenBackbone {
  return 'frozen' in b && 'boundary' in b;
}
