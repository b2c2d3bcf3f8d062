/**
 * models.predict, the prediction API, same-split scoring and heat maps, as the web server sees them: a PredictFn
 * that hands the images to a runner through a PredictTransport (predict-transport.ts). The web server loads no
 * TensorFlow.js: the runner's prediction worker does (apps/runner/src/predict/: the queue, PREDICT_MAX_QUEUE and
 * PREDICT_MAX_MODELS, IMAGE_MAX_PIXELS, per-image decode errors, a crashed worker restarted).
 * What can be checked without TF is checked here, before anything crosses the wire: more than PREDICT_MAX_IMAGES
 * images → PredictInputError; an empty image or one over PREDICT_MAX_IMAGE_BYTES gets its own error and is not sent.
 */
import path from 'node:path';
import type { PredictTransport } from './predict-transport.ts';
import type { Prediction, PredictFn, PredictImage } from './trpc.ts';

export interface PredictorLimits {
  /** Images per request (PREDICT_MAX_IMAGES). */
  maxImages: number;
  /** Bytes per image (PREDICT_MAX_IMAGE_BYTES). */
  maxImageBytes: number;
}

// The runner's own error classes (its types module imports nothing but zod): one definition on both sides.
import { PredictBusyError, PredictInputError } from '@defectflow/runner/predict-types';

export { PredictBusyError, PredictInputError };

/** The runner cannot be reached, is restarting, or did not answer in time: 503, try again. */
export class PredictUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PredictUnavailableError';
  }
}

export interface Predictor {
  predict: PredictFn;
  /** Requests sent to the runner and not yet answered. */
  readonly pending: number;
  close(): Promise<void>;
}

export interface PredictorOptions {
  transport: PredictTransport;
  /** The web server's DATA_DIR/models: model folders are sent relative to it (the runner has its own). */
  modelsDir: string;
  limits: PredictorLimits;
}

function formatMiB(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

/** The image's own error when it is empty or too large; null when it goes to the runner. */
function localError(image: PredictImage, maxImageBytes: number): string | null {
  if (image.data.length === 0) return 'the file is empty';
  if (image.data.length > maxImageBytes) {
    return `the file is ${formatMiB(image.data.length)}; the limit is ${formatMiB(maxImageBytes)} (PREDICT_MAX_IMAGE_BYTES)`;
  }
  return null;
}

export function createPredictor(opts: PredictorOptions): Predictor {
  const { limits } = opts;
  const inFlight = new Set<AbortController>();
  let closed = false;

  const predict: PredictFn = async (modelDir, images, options = {}) => {
    if (closed) throw new Error('the web server is shutting down');
    if (images.length > limits.maxImages) {
      throw new PredictInputError(`${images.length} images sent; the limit is ${limits.maxImages} per request (PREDICT_MAX_IMAGES)`);
    }
    const folder = path.relative(path.resolve(opts.modelsDir), path.resolve(modelDir));
    if (folder === '' || folder.startsWith('..') || path.isAbsolute(folder)) {
      throw new PredictInputError(`the model folder ${modelDir} is not inside the models folder`);
    }
    const results: Prediction[] = images.map((image) => ({ name: image.name, error: localError(image, limits.maxImageBytes) ?? 'not predicted' }));
    const sent = images.flatMap((image, k) => (localError(image, limits.maxImageBytes) === null ? [k] : []));
    if (sent.length === 0) return results;
    const controller = new AbortController();
    inFlight.add(controller);
    try {
      const { predictions } = await opts.transport.predict(
        {
          modelId: options.modelId ?? folder.split(path.sep).join('/'),
          modelDir: folder.split(path.sep).join('/'),
          images: sent.map((k) => ({ name: images[k]?.name as string, data: (images[k] as PredictImage).data.toString('base64') })),
          ...(options.heatmap ? { heatmap: true } : {}),
        },
        { signal: controller.signal },
      );
      for (const [i, k] of sent.entries()) results[k] = predictions[i] ?? { name: images[k]?.name as string, error: 'the runner returned no prediction' };
      return results;
    } finally {
      inFlight.delete(controller);
    }
  };

  return {
    predict,
    get pending() {
      return inFlight.size;
    },
    async close() {
      closed = true;
      for (const controller of inFlight) controller.abort(new Error('the web server is shutting down'));
    },
  };
}
