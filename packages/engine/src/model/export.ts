import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.ts';
import { ONNX_INPUT, ONNX_OUTPUT, convertLayersModelToOnnxDetailed, convertLayersModelToOnnxGraph } from '../onnx/convert.ts';
import { cutOnnxModel } from '../onnx/onnx-edit.ts';
import type { OrtSession } from '../onnx/runtime-types.ts';
import { normalizationAffine } from './onnx-backbone.ts';
import { ONNX_OPSET } from '../onnx/onnx-proto.ts';
import { type ImageFit, normalizeFit } from '../data/fit.ts';
import { readImagesBatch } from '../data/image-io.ts';
import { modelFromTopology } from './backbone.ts';
import type { TrainedClassifier } from './classifier.ts';
import { type Baseline, type DecisionRule, type OperatingPoint, decideClass } from './decision.ts';
import { DRIFT_FILE, type DriftCall, type DriftReference, type DriftReferenceMeta, driftBytes, driftFromBytes, driftMeta, driftScore } from './drift.ts';
import type { Metrics } from './evaluate.ts';
import { type Pooling, poolFeatureMap } from './features.ts';
import { buildHead, modelJson } from './head.ts';
import { type FunctionalJson, after, chain } from './topology.ts';
import { copyWeightsByLayerName, readModelFolder } from './weights.ts';

export const EXPORT_FORMAT = 'defectflow-classifier';
export const ONNX_FILE = 'model.onnx';

/**
 * model.onnx: the same composed classifier as model.json (Rescaling → backbone → head → softmax),
 * with a Cast from uint8 in front, so the preprocessing after resizing is inside the graph.
 */
export type OnnxExportInfo =
  | {
      available: true;
      file: typeof ONNX_FILE;
      opset: number;
      input: {
        name: string;
        dtype: 'uint8';
        /** ['N', inputSize, inputSize, 3]; N is any batch size. */
        shape: [string, number, number, 3];
        layout: 'NHWC';
        description: string;
      };
      output: { name: string; dtype: 'float32'; shape: [string, number]; description: string };
    }
  | { available: false; reason: string };

export interface ExportMeta {
  format: typeof EXPORT_FORMAT;
  version: 1;
  name: string;
  labels: string[];
  inputSize: number;
  channels: 3;
  /**
   * What the graph's first layer (Rescaling "preprocess") does; feed raw 0..255 RGB. `fit` says how
   * an image becomes the square input (absent = 'stretch', files written before it existed). With
   * 'tiles' the graph cannot tile by itself: cut the image into tiles (data/fit.ts tileLayout), run
   * each through the model up to `tilesMaxAt`, take the element-wise max of their outputs and run
   * the rest of the model on that — predictImages does exactly this.
   */
  preprocessing: {
    name: string;
    inGraph: true;
    input: 'RGB float 0..255, [1,h,w,3]';
    fit?: ImageFit;
    maxTiles?: number;
    tilesMaxAt?: string;
  };
  backbone: { source: string; cutAt: string; boundary: string; description: string };
  metrics: {
    accuracy: number;
    macroF1: number;
    auroc: number | null;
    /** Youden's-J threshold of the ROC (informative; the applied one is `decision`). */
    threshold: number | null;
    goodClass: string | null;
    count: number;
    baseline?: Baseline;
    baselineWarning?: string | null;
    operatingPoint?: OperatingPoint | null;
  } | null;
  /**
   * The defect-vs-good rule `predictImages` applies (decision.ts `decideClass`), chosen by the evaluate node's
   * operating point. Absent or null (older exports, argmax mode) = the most probable class.
   */
  decision?: DecisionRule | null;
  /** The ONNX export (absent in folders written before it existed). */
  onnx?: OnnxExportInfo;
  /** The input-drift reference in drift.bin (drift.ts); absent in older folders, ONNX-backbone models and when training could not fit one. */
  drift?: DriftReferenceMeta | null;
  /**
   * What runs the model: 'tfjs' (model.json + weights.bin; model.onnx beside it when it converts) or
   * 'onnx' (an imported ONNX backbone: model.onnx is the only model). Absent = 'tfjs'.
   */
  runtime?: 'tfjs' | 'onnx';
  training: { epochs: number; bestEpoch: number; stoppedEarly: boolean };
  createdAt: string;
  backend: string;
}

/**
 * One flat functional model: image 0..255 → Rescaling → backbone (cut) → head → softmax.
 * Built from JSON (backbone topology chained with the head's) and filled by layer name from the
 * trained parts — no nested models, no Lambda layers, so it reloads in plain TF.js.
 */
export async function composeClassifier(trained: TrainedClassifier): Promise<tf.LayersModel> {
  const { topology: backboneTopology, model: backboneModel } = trained.backbone;
  if (!backboneTopology || !backboneModel) throw new Error('composeClassifier: an ONNX backbone has no TF.js model (its classifier is exported as one ONNX graph)');
  const full = buildHead({ ...trained.headSpec, numClasses: trained.classes.length, inputShape: trained.backbone.outputShape });
  const topology = chain('defectflow_classifier', [backboneTopology, modelJson(full)]);
  full.dispose();
  const model = await modelFromTopology(topology);
  copyWeightsByLayerName(model, [trained.head, ...(trained.trainable ? [trained.trainable] : []), backboneModel]);
  return model;
}

/**
 * The classifier of an ONNX backbone as one ONNX graph: uint8 NHWC pixels → the backbone's own
 * normalisation and layout → the backbone cut at its cut point → the trained head (converted from
 * TF.js, pooling included) → softmax. What training computed, in one file ONNX Runtime runs.
 */
export function composeOnnxClassifier(trained: TrainedClassifier, name: string): { bytes: Uint8Array; inputName: string; outputName: string } {
  const onnx = trained.backbone.onnx;
  if (!onnx) throw new Error('composeOnnxClassifier: not an ONNX backbone');
  const full = buildHead({ ...trained.headSpec, numClasses: trained.classes.length, inputShape: trained.backbone.outputShape });
  try {
    copyWeightsByLayerName(full, [trained.head]);
    const head = convertLayersModelToOnnxGraph(full, {}).graph;
    return cutOnnxModel(
      onnx.model,
      {
        cut: onnx.settings.cut,
        inputSize: onnx.settings.inputSize,
        layout: onnx.settings.layout,
        normalization: normalizationAffine(onnx.settings),
        inputType: 'uint8',
        head,
        metadata: { name, labels: JSON.stringify(trained.classes), fit: trained.backbone.fit.fit, backbone: path.basename(onnx.file), cut: onnx.settings.cut },
      },
      `ONNX backbone ${path.basename(onnx.file)}`,
    );
  } finally {
    full.dispose();
  }
}

async function writeAtomic(file: string, data: string | Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, data);
  await fs.rename(tmp, file);
}

function joinWeights(data: ArrayBuffer | ArrayBuffer[] | undefined): Uint8Array {
  if (!data) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), o);
    o += p.byteLength;
  }
  return out;
}

export interface ExportResult {
  dir: string;
  files: string[];
  bytes: number;
  meta: ExportMeta;
}

/** Writes model.json + weights.bin (one composed LayersModel) + defectflow.json into `dir`. */
export async function exportModel(
  trained: TrainedClassifier,
  dir: string,
  options: { name: string; metrics?: Metrics | null },
): Promise<ExportResult> {
  if (trained.backbone.onnx) return exportOnnxClassifier(trained, dir, options);
  const model = await composeClassifier(trained);
  try {
    await fs.mkdir(dir, { recursive: true });
    let bytes = 0;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weights = joinWeights(artifacts.weightData as ArrayBuffer | ArrayBuffer[] | undefined);
        const json = {
          modelTopology: artifacts.modelTopology,
          format: 'layers-model',
          generatedBy: `defectflow (TensorFlow.js ${tf.version.tfjs})`,
          convertedBy: null,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
        };
        await writeAtomic(path.join(dir, 'weights.bin'), weights);
        await writeAtomic(path.join(dir, 'model.json'), JSON.stringify(json));
        bytes = weights.byteLength;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
      }),
    );
    const onnx = await writeOnnx(model, dir, trained, options.name);
    // The drift reference is scored from the TF.js model's boundary layer (predictImages), so TF.js exports only.
    await fs.rm(path.join(dir, DRIFT_FILE), { force: true });
    if (trained.drift) await writeAtomic(path.join(dir, DRIFT_FILE), driftBytes(trained.drift));
    const meta = exportMeta(trained, options, onnx, 'tfjs');
    await writeAtomic(path.join(dir, 'defectflow.json'), JSON.stringify(meta, null, 2));
    const files = ['model.json', 'weights.bin', ...(onnx.available ? [ONNX_FILE] : []), ...(trained.drift ? [DRIFT_FILE] : []), 'defectflow.json'];
    return { dir, files, bytes, meta };
  } finally {
    model.dispose();
  }
}

/** An ONNX backbone's export: model.onnx (composeOnnxClassifier) + defectflow.json, no TF.js model. */
async function exportOnnxClassifier(trained: TrainedClassifier, dir: string, options: { name: string; metrics?: Metrics | null }): Promise<ExportResult> {
  const { bytes, inputName, outputName } = composeOnnxClassifier(trained, options.name);
  await fs.mkdir(dir, { recursive: true });
  for (const stale of ['model.json', 'weights.bin']) await fs.rm(path.join(dir, stale), { force: true });
  await writeAtomic(path.join(dir, ONNX_FILE), bytes);
  const size = trained.backbone.inputSize;
  const onnx: OnnxExportInfo = {
    available: true,
    file: ONNX_FILE,
    opset: trained.backbone.onnx?.model.opset ?? ONNX_OPSET,
    input: { name: inputName, dtype: 'uint8', shape: ['N', size, size, 3], layout: 'NHWC', description: onnxInputDescription(trained.backbone.fit.fit, size) },
    output: {
      name: outputName,
      dtype: 'float32',
      shape: ['N', trained.classes.length],
      description: 'softmax class probabilities in the order of `labels`; apply `decision` (when set) as predictImages does, else take the argmax',
    },
  };
  const meta = exportMeta(trained, options, onnx, 'onnx');
  await writeAtomic(path.join(dir, 'defectflow.json'), JSON.stringify(meta, null, 2));
  return { dir, files: [ONNX_FILE, 'defectflow.json'], bytes: bytes.length, meta };
}

function exportMeta(trained: TrainedClassifier, options: { name: string; metrics?: Metrics | null }, onnx: OnnxExportInfo, runtime: 'tfjs' | 'onnx'): ExportMeta {
    const m = options.metrics;
    const settings = trained.backbone.onnx?.settings;
    const meta: ExportMeta = {
      runtime,
      format: EXPORT_FORMAT,
      version: 1,
      name: options.name,
      labels: trained.classes,
      inputSize: trained.backbone.inputSize,
      channels: 3,
      preprocessing: {
        name: settings ? `onnx:${settings.layout}:${settings.normalization}` : trained.backbone.preprocessing,
        inGraph: true,
        input: 'RGB float 0..255, [1,h,w,3]',
        fit: trained.backbone.fit.fit,
        ...(trained.backbone.fit.fit === 'tiles' ? { maxTiles: trained.backbone.fit.maxTiles, tilesMaxAt: trained.backbone.boundary } : {}),
      },
      backbone: {
        source: trained.backbone.source,
        cutAt: trained.backbone.cutAt,
        boundary: trained.backbone.boundary,
        description: trained.backbone.describe(),
      },
      metrics: m
        ? {
            accuracy: m.accuracy,
            macroF1: m.macroF1,
            auroc: m.roc ? m.roc.auroc : null,
            threshold: m.roc ? m.roc.threshold : null,
            goodClass: m.roc ? m.roc.goodClass : null,
            count: m.count,
            baseline: m.baseline,
            baselineWarning: m.baselineVerdict?.warning ?? null,
            operatingPoint: m.operatingPoint ?? null,
          }
        : null,
      decision: m?.operatingPoint
        ? { goodClass: m.operatingPoint.goodClass, threshold: m.operatingPoint.threshold, mode: m.operatingPoint.mode, target: m.operatingPoint.target }
        : null,
      onnx,
      drift: runtime === 'tfjs' && trained.drift ? driftMeta(trained.drift) : null,
      training: { epochs: trained.history.length, bestEpoch: trained.bestEpoch, stoppedEarly: trained.stoppedEarly },
      createdAt: new Date().toISOString(),
      backend: runtime === 'onnx' ? 'onnxruntime' : tf.getBackend(),
    };
    return meta;
}

/** How the uint8 input is made from an image file, per fit (what readImagesBatch does before the graph). */
function onnxInputDescription(fit: ImageFit, size: number): string {
  const pixels = `RGB pixels 0..255 as uint8, NHWC [N,${size},${size},3] (alpha flattened onto black, EXIF orientation applied)`;
  if (fit === 'letterbox')
    return `${pixels}: the image resized to fit inside ${size}×${size} keeping its aspect (lanczos3), centred on a ${size}×${size} square filled with the image's own mean colour (rounded). The graph casts to float32 and applies the backbone's normalisation.`;
  return `${pixels}: the whole image resized to ${size}×${size} ignoring its aspect (stretch, lanczos3). The graph casts to float32 and applies the backbone's normalisation.`;
}

/**
 * Writes model.onnx next to model.json. A model that cannot convert (fit 'tiles', whose max over
 * tiles happens between two halves of the model; a layer the converter lacks) gets no file and a reason.
 */
async function writeOnnx(model: tf.LayersModel, dir: string, trained: TrainedClassifier, name: string): Promise<OnnxExportInfo> {
  const file = path.join(dir, ONNX_FILE);
  await fs.rm(file, { force: true });
  const fit = trained.backbone.fit.fit;
  if (fit === 'tiles')
    return {
      available: false,
      reason: "fit 'tiles': the image is cut into tiles whose feature maps are max-combined inside the model, which one ONNX graph on one input image cannot do; use the TF.js model (predictImages)",
    };
  const size = trained.backbone.inputSize;
  let bytes: Uint8Array;
  try {
    bytes = convertLayersModelToOnnxDetailed(model, {
      inputSize: size,
      inputType: 'uint8',
      metadata: { name, labels: JSON.stringify(trained.classes), fit, preprocessing: trained.backbone.preprocessing },
    }).bytes;
  } catch (err) {
    return { available: false, reason: err instanceof Error ? err.message : String(err) };
  }
  await writeAtomic(file, bytes);
  return {
    available: true,
    file: ONNX_FILE,
    opset: ONNX_OPSET,
    input: { name: ONNX_INPUT, dtype: 'uint8', shape: ['N', size, size, 3], layout: 'NHWC', description: onnxInputDescription(fit, size) },
    output: {
      name: ONNX_OUTPUT,
      dtype: 'float32',
      shape: ['N', trained.classes.length],
      description: 'softmax class probabilities in the order of `labels`; apply `decision` (when set) as predictImages does, else take the argmax',
    },
  };
}

export interface LoadedModel {
  /** The TF.js classifier; null for runtime 'onnx' (see `onnx`). */
  model: tf.LayersModel | null;
  meta: ExportMeta;
  dir: string;
  /** Runtime 'onnx': model.onnx in an ONNX Runtime session. */
  onnx?: { session: OrtSession; run(pixels: Uint8Array, n: number): Promise<Float32Array> };
  /** drift.bin, when defectflow.json names one. */
  drift?: DriftReference | null;
}

/** model.onnx of an ONNX-backbone export in an ONNX Runtime session (uint8 NHWC in, probabilities out). */
async function loadOnnxClassifier(dir: string, meta: ExportMeta): Promise<NonNullable<LoadedModel['onnx']>> {
  const info = meta.onnx;
  if (!info?.available) throw new Error(`${dir}/defectflow.json: runtime "onnx" but no model.onnx is recorded`);
  const { loadOnnxRuntime } = await import('../onnx/runtime.ts');
  const ort = await loadOnnxRuntime();
  const bytes = new Uint8Array(await fs.readFile(path.join(dir, info.file)));
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', executionProviders: ['cpu'] });
  const size = meta.inputSize;
  return {
    session,
    async run(pixels, n) {
      // The typed Tensor constructor covers float32; ONNX Runtime takes uint8 the same way.
      const Tensor = ort.Tensor as unknown as new (type: 'uint8', data: Uint8Array, dims: number[]) => OrtTensorLike;
      const out = await session.run({ [info.input.name]: new Tensor('uint8', pixels, [n, size, size, 3]) as never });
      const data = out[info.output.name]?.data;
      if (!(data instanceof Float32Array)) throw new Error(`${dir}/model.onnx returned no float32 "${info.output.name}"`);
      return data;
    },
  };
}

type OrtTensorLike = { readonly data: unknown; readonly dims: readonly number[] };

export async function loadExportedModel(dir: string): Promise<LoadedModel> {
  await initBackend(); // idempotent: keeps whatever an earlier initBackend({prefer}) chose
  let meta: ExportMeta;
  try {
    meta = JSON.parse(await fs.readFile(path.join(dir, 'defectflow.json'), 'utf8')) as ExportMeta;
  } catch (err) {
    throw new Error(`${dir} is not an exported defectflow model (defectflow.json: ${err instanceof Error ? err.message : String(err)})`);
  }
  if (meta.format !== EXPORT_FORMAT) throw new Error(`${dir}/defectflow.json: unknown format "${String(meta.format)}"`);
  if (meta.runtime === 'onnx') return { model: null, meta, dir, onnx: await loadOnnxClassifier(dir, meta) };
  const { json, weightSpecs, weightData } = await readModelFolder(dir);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
  let drift: DriftReference | null = null;
  if (meta.drift) {
    const file = path.join(dir, DRIFT_FILE);
    try {
      drift = driftFromBytes(meta.drift, new Uint8Array(await fs.readFile(file)), file);
    } catch (err) {
      model.dispose();
      throw new Error(`${dir}: defectflow.json names a drift reference, but ${DRIFT_FILE} cannot be used: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { model, meta, dir, drift };
}

export interface ImagePrediction {
  path: string;
  probabilities: Record<string, number>;
  label: string;
  confidence: number;
  /** With `drift: true` and a model that has a drift reference. */
  drift?: DriftCall;
}

interface TiledParts {
  /** image → activations at the layer where tiles are max-combined (shares the loaded model's weights). */
  features: tf.LayersModel;
  /** combined activations → probabilities (own copy of the weights after that layer). */
  rest: tf.LayersModel;
}

const tiledParts = new WeakMap<tf.LayersModel, Promise<TiledParts>>();

/** The exported model split where training max-combined the tiles (meta.preprocessing.tilesMaxAt, else the boundary). */
function splitForTiles(loaded: LoadedModel & { model: tf.LayersModel }): Promise<TiledParts> {
  let parts = tiledParts.get(loaded.model);
  if (!parts) {
    parts = (async () => {
      const at = loaded.meta.preprocessing.tilesMaxAt ?? loaded.meta.backbone.boundary;
      const layer = loaded.model.layers.find((l) => l.name === at);
      if (!layer) throw new Error(`${loaded.dir}/defectflow.json: tiles are combined at layer "${at}", which the model does not have`);
      const features = tf.model({ inputs: loaded.model.inputs, outputs: layer.output as tf.SymbolicTensor });
      const shape = (features.outputs[0]?.shape ?? []).slice(1).map((v) => v ?? 0);
      const topology = (loaded.model.toJSON(null, false) as unknown as { config: FunctionalJson }).config;
      const rest = await modelFromTopology(after(topology, at, shape));
      copyWeightsByLayerName(rest, [loaded.model]);
      return { features, rest };
    })();
    tiledParts.set(loaded.model, parts);
  }
  return parts;
}

const withBoundary = new WeakMap<tf.LayersModel, tf.LayersModel | null>();

/** The loaded model with a second output: the drift layer's map (shares the weights), or null if it has no such 4-D layer. */
function boundaryAndProbs(model: tf.LayersModel, layerName: string): tf.LayersModel | null {
  if (!withBoundary.has(model)) {
    const layer = model.layers.find((l) => l.name === layerName);
    const out = layer?.output as tf.SymbolicTensor | undefined;
    withBoundary.set(
      model,
      out && !Array.isArray(out) && out.shape.length === 4 ? tf.model({ inputs: model.inputs, outputs: [out, model.outputs[0] as tf.SymbolicTensor] }) : null,
    );
  }
  return withBoundary.get(model) ?? null;
}

type Decoded = { probs: number[][]; pooled: number[][] | null };

/**
 * Probabilities of decoded images: one composed-model call, or for tiles: every tile through the
 * model up to the combine layer, the element-wise max per image, then the rest of the model.
 * With `pooling` (a TF.js model with a drift reference), also the drift layer's map pooled per image, from the same forward pass.
 */
async function predictDecoded(
  loaded: LoadedModel,
  images: { data: Float32Array; tiles?: number }[],
  size: number,
  pooling: Pooling | null = null,
): Promise<Decoded> {
  const tiled = images.some((im) => (im.tiles ?? 1) > 1) || loaded.meta.preprocessing.fit === 'tiles';
  if (loaded.onnx) {
    // Decoded pixels are whole numbers 0..255 held as floats: the same values training saw.
    const per = size * size * 3;
    const pixels = new Uint8Array(images.length * per);
    images.forEach((im, i) => {
      pixels.set(Uint8Array.from(im.data.subarray(0, per), (v) => Math.max(0, Math.min(255, Math.round(v)))), i * per);
    });
    const probs = await loaded.onnx.run(pixels, images.length);
    const k = loaded.meta.labels.length;
    return { probs: images.map((_im, i) => Array.from(probs.subarray(i * k, (i + 1) * k))), pooled: null };
  }
  const model = loaded.model;
  if (!model) throw new Error(`${loaded.dir}: no model to run`);
  if (!tiled) {
    const both = pooling && loaded.drift ? boundaryAndProbs(model, loaded.drift.layer) : null;
    let out: Decoded = { probs: [], pooled: null };
    tf.tidy(() => {
      const x = tf.stack(images.map((im) => tf.tensor3d(im.data, [size, size, 3])));
      if (!both || !pooling) out = { probs: (model.predict(x) as tf.Tensor).arraySync() as number[][], pooled: null };
      else {
        const [map, probs] = both.predict(x) as tf.Tensor[];
        out = { probs: (probs as tf.Tensor).arraySync() as number[][], pooled: poolFeatureMap(map as tf.Tensor4D, pooling).arraySync() };
      }
    });
    return out;
  }
  const { features, rest } = await splitForTiles({ ...loaded, model });
  let out: Decoded = { probs: [], pooled: null };
  tf.tidy(() => {
    const combined = images.map((im) => {
      const x = tf.tensor4d(im.data, [im.tiles ?? 1, size, size, 3]);
      return tf.max(features.predict(x) as tf.Tensor, 0, true);
    });
    const map = tf.concat(combined, 0);
    // Tiles are max-combined at the boundary, which is the drift layer: the combined map is what training pooled.
    const pooled = pooling && loaded.drift && map.rank === 4 ? poolFeatureMap(map as tf.Tensor4D, pooling).arraySync() : null;
    out = { probs: (rest.predict(map) as tf.Tensor).arraySync() as number[][], pooled };
  });
  return out;
}

/** Class probabilities for image files (an exported model folder or one already loaded). */
export async function predictImages(
  dirOrLoaded: string | LoadedModel,
  imagePaths: string[],
  options: { batchSize?: number; signal?: AbortSignal; maxPixels?: number; drift?: boolean } = {},
): Promise<ImagePrediction[]> {
  const loaded = typeof dirOrLoaded === 'string' ? await loadExportedModel(dirOrLoaded) : dirOrLoaded;
  const { model, meta } = loaded;
  const size = meta.inputSize;
  // The fit the model was trained with; a defectflow.json without one was trained stretched.
  const layout = normalizeFit({ fit: meta.preprocessing?.fit, maxTiles: meta.preprocessing?.maxTiles });
  const batchSize = options.batchSize ?? 16;
  const out: ImagePrediction[] = [];
  const rule = meta.decision ?? null;
  const goodIndex = rule ? meta.labels.indexOf(rule.goodClass) : -1;
  try {
    if (rule && goodIndex < 0) throw new Error(`${loaded.dir}/defectflow.json: decision.goodClass "${rule.goodClass}" is not one of the labels`);
    for (let s = 0; s < imagePaths.length; s += batchSize) {
      const paths = imagePaths.slice(s, s + batchSize);
      const { images, failures } = await readImagesBatch(paths, size, { signal: options.signal, layout, maxPixels: options.maxPixels });
      if (failures.length) throw new Error(`cannot read image ${failures[0]?.path}: ${failures[0]?.reason}`);
      const drift = options.drift ? (loaded.drift ?? null) : null;
      const { probs, pooled } = await predictDecoded(loaded, images, size, drift?.pooling ?? null);
      probs.forEach((p, i) => {
        const arg = decideClass(p, goodIndex, rule ? rule.threshold : null);
        const vector = pooled?.[i];
        out.push({
          path: paths[i] as string,
          probabilities: Object.fromEntries(meta.labels.map((l, j) => [l, p[j] as number])),
          label: meta.labels[arg] as string,
          confidence: p[arg] as number,
          ...(drift && vector ? { drift: driftScore(drift, Float32Array.from(vector)) } : {}),
        });
      });
    }
    return out;
  } finally {
    if (typeof dirOrLoaded === 'string') {
      const parts = model ? tiledParts.get(model) : undefined;
      if (parts) void parts.then((p) => p.rest.dispose(), () => {});
      model?.dispose();
      await loaded.onnx?.session.release();
    }
  }
}
