import * as tf from '@tensorflow/tfjs';
import { releaseCachedExtractors } from '../onnx/runtime.ts';

export function isLayersModel(value: unknown): value is tf.LayersModel {
  return value instanceof tf.LayersModel;
}

/**
 * Frees a model for good: its weights now, and the ONNX Runtime sessions and worker threads
 * memoised for it (those would otherwise wait for the garbage collector). Safe on a model whose
 * layers another disposed model shared: tfjs then reports them disposed already, which is no error here.
 */
export function disposeModel(model: tf.LayersModel): Promise<void> {
  try {
    model.dispose();
  } catch {
    // Already disposed (directly, or through a model sharing its layers).
  }
  return releaseCachedExtractors(model);
}
