import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend/index.ts';
import { readImagesBatch } from '../data/image-io.ts';
import { modelFromTopology } from './backbone.ts';
import type { TrainedClassifier } from './classifier.ts';
import type { Metrics } from './evaluate.ts';
import { buildHead, modelJson } from './head.ts';
import { chain } from './topology.ts';
import { copyWeightsByLayerName, readModelFolder } from './weights.ts';

export const EXPORT_FORMAT = 'defectflow-classifier';

export interface ExportMeta {
  format: typeof EXPORT_FORMAT;
  version: 1;
  name: string;
  labels: string[];
  inputSize: number;
  channels: 3;
  /** What the graph's first layer (Rescaling "preprocess") does; feed raw 0..255 RGB. */
  preprocessing: { name: string; inGraph: true; input: 'RGB float 0..255, [1,h,w,3]' };
  backbone: { source: string; cutAt: string; boundary: string; description: string };
  metrics: { accuracy: number; macroF1: number; auroc: number | null; threshold: number | null; goodClass: string | null; count: number } | null;
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
  const full = buildHead({ ...trained.headSpec, numClasses: trained.classes.length, inputShape: trained.backbone.outputShape });
  const topology = chain('defectflow_classifier', [trained.backbone.topology, modelJson(full)]);
  full.dispose();
  const model = await modelFromTopology(topology);
  copyWeightsByLayerName(model, [trained.head, ...(trained.trainable ? [trained.trainable] : []), trained.backbone.model]);
  return model;
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
    const m = options.metrics;
    const meta: ExportMeta = {
      format: EXPORT_FORMAT,
      version: 1,
      name: options.name,
      labels: trained.classes,
      inputSize: trained.backbone.inputSize,
      channels: 3,
      preprocessing: { name: trained.backbone.preprocessing, inGraph: true, input: 'RGB float 0..255, [1,h,w,3]' },
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
          }
        : null,
      training: { epochs: trained.history.length, bestEpoch: trained.bestEpoch, stoppedEarly: trained.stoppedEarly },
      createdAt: new Date().toISOString(),
      backend: tf.getBackend(),
    };
    await writeAtomic(path.join(dir, 'defectflow.json'), JSON.stringify(meta, null, 2));
    return { dir, files: ['model.json', 'weights.bin', 'defectflow.json'], bytes, meta };
  } finally {
    model.dispose();
  }
}

export interface LoadedModel {
  model: tf.LayersModel;
  meta: ExportMeta;
  dir: string;
}

export async function loadExportedModel(dir: string): Promise<LoadedModel> {
  await initBackend(); // idempotent: keeps whatever an earlier initBackend({prefer}) chose
  let meta: ExportMeta;
  try {
    meta = JSON.parse(await fs.readFile(path.join(dir, 'defectflow.json'), 'utf8')) as ExportMeta;
  } catch (err) {
    throw new Error(`${dir} is not an exported defectflow model (defectflow.json: ${err instanceof Error ? err.message : String(err)})`);
  }
  if (meta.format !== EXPORT_FORMAT) throw new Error(`${dir}/defectflow.json: unknown format "${String(meta.format)}"`);
  const { json, weightSpecs, weightData } = await readModelFolder(dir);
  const model = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));
  return { model, meta, dir };
}

export interface ImagePrediction {
  path: string;
  probabilities: Record<string, number>;
  label: string;
  confidence: number;
}

/** Class probabilities for image files (an exported model folder or one already loaded). */
export async function predictImages(
  dirOrLoaded: string | LoadedModel,
  imagePaths: string[],
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<ImagePrediction[]> {
  const loaded = typeof dirOrLoaded === 'string' ? await loadExportedModel(dirOrLoaded) : dirOrLoaded;
  const { model, meta } = loaded;
  const size = meta.inputSize;
  const batchSize = options.batchSize ?? 16;
  const out: ImagePrediction[] = [];
  try {
    for (let s = 0; s < imagePaths.length; s += batchSize) {
      const paths = imagePaths.slice(s, s + batchSize);
      const { images, failures } = await readImagesBatch(paths, size, { signal: options.signal });
      if (failures.length) throw new Error(`cannot read image ${failures[0]?.path}: ${failures[0]?.reason}`);
      const probs = tf.tidy(() => {
        const x = tf.stack(images.map((im) => tf.tensor3d(im.data, [size, size, 3])));
        return (model.predict(x) as tf.Tensor).arraySync() as number[][];
      });
      probs.forEach((p, i) => {
        let arg = 0;
        for (let j = 1; j < p.length; j++) if ((p[j] as number) > (p[arg] as number)) arg = j;
        out.push({
          path: paths[i] as string,
          probabilities: Object.fromEntries(meta.labels.map((l, j) => [l, p[j] as number])),
          label: meta.labels[arg] as string,
          confidence: p[arg] as number,
        });
      });
    }
    return out;
  } finally {
    if (typeof dirOrLoaded === 'string') model.dispose();
  }
}
