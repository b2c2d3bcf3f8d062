import * as tf from '@tensorflow/tfjs';

/**
 * Tolerance the ONNX path is held to: max |onnx − tfjs| ≤ 1e-4 · max(1, max |tfjs|). Both run
 * float32, but in different summation orders, and batch-norm is folded into conv weights on the
 * ONNX side; measured on MobileNetV2 the worst difference is ~3e-5 on features up to 6 (ReLU6).
 */
export const RELATIVE_TOLERANCE = 1e-4;

export function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): { maxAbs: number; scale: number } {
  if (a.length !== b.length) throw new Error(`length mismatch: ${a.length} vs ${b.length}`);
  let maxAbs = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  return { maxAbs, scale };
}

/** Deterministic pseudo-images, 0..255 NHWC. */
export function pseudoImages(n: number, h: number, w = h, c = 3, seed = 1): Float32Array {
  const x = new Float32Array(n * h * w * c);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    const smooth = Math.sin(i * 0.013 + seed) * 0.5 + 0.5;
    x[i] = 255 * (0.7 * smooth + 0.3 * (s / 2 ** 32));
  }
  return x;
}

export function tfjsRun(model: tf.LayersModel, x: Float32Array, n: number): Float32Array {
  const shape = [n, ...(model.inputs[0]?.shape ?? []).slice(1).map((d) => d ?? 0)];
  return tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
}

/** Gives every weight of the model seeded random values (BN variances positive), so folding is really exercised. */
export function randomizeWeights(model: tf.LayersModel, seed = 7): void {
  let k = 0;
  for (const layer of model.layers) {
    const values = layer.weights.map((w) => {
      k++;
      const name = w.originalName;
      const shape = w.shape as number[];
      if (/moving_variance/.test(name)) return tf.randomUniform(shape, 0.5, 2, 'float32', seed + k);
      if (/gamma/.test(name)) return tf.randomUniform(shape, 0.5, 1.5, 'float32', seed + k);
      return tf.randomNormal(shape, 0, 0.3, 'float32', seed + k);
    });
    if (values.length) {
      layer.setWeights(values);
      tf.dispose(values);
    }
  }
}
