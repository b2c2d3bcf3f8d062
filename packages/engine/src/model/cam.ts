/**
 * "Where the head looked": a class activation map (CAM) for models with the spatial head. The head's 1×1 conv →
 * batch norm → ReLU map (layer `head_relu`, h×w×F) is pooled and fed to one dense softmax layer (`head_output`), so
 * each map position's share of the predicted class's score is the map there weighted by that class's dense
 * weights: cam(x,y) = Σ_k relu_k(x,y)·W[k,c] — for avg+max pooling both halves of W (avg first, then max) are
 * summed. Negative values (evidence against the class) are cut, the rest scaled to 0..1. One forward pass, no
 * gradients; the map has the feature map's resolution and the caller upsamples it over the image.
 */
import * as tf from '@tensorflow/tfjs';
import { normalizeFit } from '../data/fit.ts';
import { readImagesBatch } from '../data/image-io.ts';
import { decideClass } from './decision.ts';
import type { LoadedModel } from './export.ts';

export type ClassActivationMap =
  | {
      /** The predicted class the map explains (the same rule predictImages applies). */
      label: string;
      confidence: number;
      /** Feature map size; `values` is row-major, 0..1. */
      width: number;
      height: number;
      values: number[];
      /** How the image became the model's square: the map covers the stretched image, or the letterboxed square. */
      fit: 'stretch' | 'letterbox';
    }
  | { unavailable: string };

const camModels = new WeakMap<tf.LayersModel, tf.LayersModel>();

/** The class activation map of one image file for the class the model predicts. */
export async function classActivationMap(loaded: LoadedModel, imagePath: string, options: { maxPixels?: number } = {}): Promise<ClassActivationMap> {
  const { model, meta } = loaded;
  if (!model) return { unavailable: 'no map for a model with an imported ONNX backbone (it runs as one ONNX graph)' };
  const relu = model.layers.find((l) => l.name === 'head_relu');
  const dense = model.layers.find((l) => l.name === 'head_output');
  if (!relu || !dense) return { unavailable: 'only a model with the spatial head has a map of where it looked' };
  const fit = normalizeFit({ fit: meta.preprocessing?.fit, maxTiles: meta.preprocessing?.maxTiles });
  if (fit.fit === 'tiles') return { unavailable: 'no map for a model that sees its images as tiles' };
  const { images, failures } = await readImagesBatch([imagePath], meta.inputSize, { layout: fit, maxPixels: options.maxPixels });
  const image = images[0];
  if (!image) throw new Error(`cannot read image ${imagePath}: ${failures[0]?.reason ?? 'unknown reason'}`);
  let cam = camModels.get(model);
  if (!cam) {
    cam = tf.model({ inputs: model.inputs, outputs: [relu.output as tf.SymbolicTensor, model.outputs[0] as tf.SymbolicTensor] });
    camModels.set(model, cam);
  }
  const rule = meta.decision ?? null;
  const goodIndex = rule ? meta.labels.indexOf(rule.goodClass) : -1;
  const camModel = cam;
  return tf.tidy(() => {
    const x = tf.tensor4d(image.data, [1, meta.inputSize, meta.inputSize, 3]);
    const [maps, probs] = camModel.predict(x) as tf.Tensor[];
    const [, height, width, channels] = (maps as tf.Tensor4D).shape;
    const p = (probs as tf.Tensor2D).arraySync()[0] as number[];
    const c = decideClass(p, goodIndex, rule ? rule.threshold : null);
    const kernel = dense.getWeights()[0] as tf.Tensor2D; // [pooled features, classes]
    const rows = kernel.shape[0];
    if (rows !== channels && rows !== 2 * channels) {
      return { unavailable: `the dense layer takes ${rows} inputs for a map of ${channels} channels` } as ClassActivationMap;
    }
    let w = kernel.slice([0, c], [channels, 1]);
    if (rows === 2 * channels) w = w.add(kernel.slice([channels, c], [channels, 1]));
    const raw = (maps as tf.Tensor4D).reshape([height * width, channels]).matMul(w).relu();
    const top = raw.max().dataSync()[0] as number;
    const scaled = top > 0 ? raw.div(top) : raw;
    return {
      label: meta.labels[c] as string,
      confidence: p[c] as number,
      width,
      height,
      values: Array.from(scaled.dataSync(), (v) => Math.round(v * 1000) / 1000),
      fit: fit.fit === 'letterbox' ? 'letterbox' : 'stretch',
    } as ClassActivationMap;
  });
}
