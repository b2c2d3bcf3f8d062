import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

/** Copies weights into `target` from the first source holding a layer of the same name. Returns layers copied. */
export function copyWeightsByLayerName(target: tf.LayersModel, sources: tf.LayersModel[]): number {
  let copied = 0;
  for (const layer of target.layers) {
    if (layer.weights.length === 0) continue;
    for (const source of sources) {
      const src = source.layers.find((l) => l.name === layer.name);
      if (!src) continue;
      layer.setWeights(src.getWeights());
      copied++;
      break;
    }
  }
  return copied;
}

export interface ModelArtifactsJson {
  modelTopology: Record<string, unknown>;
  weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/**
 * Reads a TF.js layers model folder (model.json + weight shards) with fs. tf.io.fileSystem exists
 * only in tfjs-node, which we cannot rely on.
 */
export async function readModelFolder(dir: string): Promise<{
  json: ModelArtifactsJson;
  weightSpecs: tf.io.WeightsManifestEntry[];
  weightData: ArrayBuffer;
}> {
  const file = dir.endsWith('.json') ? dir : path.join(dir, 'model.json');
  let json: ModelArtifactsJson;
  try {
    json = JSON.parse(await fs.readFile(file, 'utf8')) as ModelArtifactsJson;
  } catch (err) {
    throw new Error(`cannot read TF.js model ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!json.modelTopology) throw new Error(`${file} has no modelTopology: not a TF.js layers model`);
  const base = path.dirname(file);
  const weightSpecs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest ?? []) {
    for (const p of group.paths) {
      const shard = path.resolve(base, p);
      if (path.relative(base, shard).startsWith('..')) throw new Error(`${file}: weight path "${p}" leaves the model folder`);
      buffers.push(new Uint8Array(await fs.readFile(shard)));
    }
    weightSpecs.push(...group.weights);
  }
  return { json, weightSpecs, weightData: concat(buffers) };
}

export function concat(buffers: Uint8Array[]): ArrayBuffer {
  const total = buffers.reduce((n, b) => n + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of buffers) {
    out.set(b, offset);
    offset += b.byteLength;
  }
  return out.buffer;
}

/** Decodes weights and loads those whose names match layers of `model` (extra weights ignored). */
export function loadNamedWeights(model: tf.LayersModel, weightData: ArrayBuffer, specs: tf.io.WeightsManifestEntry[]): void {
  const named = tf.io.decodeWeights(weightData, specs);
  try {
    const wanted = new Set(model.layers.flatMap((l) => l.weights.map((w) => w.originalName)));
    const subset: tf.NamedTensorMap = {};
    for (const [name, t] of Object.entries(named)) if (wanted.has(name)) subset[name] = t;
    model.loadWeights(subset, false);
  } finally {
    tf.dispose(Object.values(named));
  }
}
