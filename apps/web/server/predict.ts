/**
 * models.predict, off the main thread: one long-lived worker thread (predict-worker.ts) holds TensorFlow.js and
 * the loaded models, so the web server's event loop keeps answering while a prediction computes.
 * Requests run one at a time in arrival order; past PREDICT_MAX_QUEUE waiting (the running one included) a
 * request is refused at once with PredictBusyError. Per request: at most PREDICT_MAX_IMAGES images (else
 * PredictInputError); an image over PREDICT_MAX_IMAGE_BYTES, empty, unreadable or over IMAGE_MAX_PIXELS gets
 * its own error in the answer while the others are predicted. A crashed worker fails its request and is
 * started again for the next one.
 */
import { Worker } from 'node:worker_threads';
import type { Prediction, PredictFn, PredictImage } from './trpc.ts';

export interface PredictorLimits {
  /** Requests waiting or running (PREDICT_MAX_QUEUE). */
  maxQueue: number;
  /** Images per request (PREDICT_MAX_IMAGES). */
  maxImages: number;
  /** Bytes per image (PREDICT_MAX_IMAGE_BYTES). */
  maxImageBytes: number;
  /** Models kept loaded in the worker (PREDICT_MAX_MODELS). */
  maxModels: number;
  /** Pixels per decoded image (IMAGE_MAX_PIXELS). */
  maxPixels: number;
}

/** What the worker gets: the images, or an error already known for one (too large, empty). */
export interface PredictRequest {
  id: number;
  modelDir: string;
  images: Array<{ name: string; data: Uint8Array; error?: string }>;
  /** Add each prediction's class activation map (the heat map of the enlarged view). */
  heatmap?: boolean;
  maxModels: number;
  maxPixels: number;
}

export type PredictResponse = { id: number; predictions: Prediction[] } | { id: number; error: string };

export class PredictBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PredictBusyError';
  }
}

export class PredictInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PredictInputError';
  }
}

interface Job {
  request: PredictRequest;
  resolve(predictions: Prediction[]): void;
  reject(err: Error): void;
}

export interface Predictor {
  predict: PredictFn;
  /** Requests waiting or running. */
  readonly pending: number;
  close(): Promise<void>;
}

function formatMiB(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}

export function createPredictor(limits: PredictorLimits): Predictor {
  const waiting: Job[] = [];
  let running: Job | null = null;
  let worker: Worker | null = null;
  let nextId = 1;
  let closed = false;

  const startWorker = (): Worker => {
    const w = new Worker(new URL('./predict-worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./predict-worker.ts', import.meta.url).href },
    });
    w.unref(); // an idle worker never keeps the process alive
    w.on('message', (res: PredictResponse) => {
      const job = running;
      if (!job || job.request.id !== res.id) return;
      running = null;
      if ('error' in res) job.reject(new Error(res.error));
      else job.resolve(res.predictions);
      pump();
    });
    const lost = (why: string) => {
      if (worker !== w) return;
      worker = null;
      const job = running;
      running = null;
      job?.reject(new Error(`the prediction worker stopped (${why}); try again`));
      pump();
    };
    w.on('error', (err) => lost(err.message));
    w.on('exit', (code) => lost(`exit code ${code}`));
    return w;
  };

  const pump = () => {
    if (running || closed) return;
    const job = waiting.shift();
    if (!job) return;
    running = job;
    worker ??= startWorker();
    const buffers = job.request.images.map((i) => i.data.buffer as ArrayBuffer);
    worker.postMessage(job.request, [...new Set(buffers)]);
  };

  const predict: PredictFn = (modelDir, images, options = {}) => {
    if (closed) return Promise.reject(new Error('the prediction worker is shut down'));
    if (images.length > limits.maxImages) {
      return Promise.reject(
        new PredictInputError(`${images.length} images sent; the limit is ${limits.maxImages} per request (PREDICT_MAX_IMAGES)`),
      );
    }
    const pending = waiting.length + (running ? 1 : 0);
    if (pending >= limits.maxQueue) {
      return Promise.reject(
        new PredictBusyError(
          `The prediction worker is busy: ${pending} requests are waiting or running (limit PREDICT_MAX_QUEUE=${limits.maxQueue}); try again shortly`,
        ),
      );
    }
    const request: PredictRequest = {
      id: nextId++,
      modelDir,
      heatmap: options.heatmap === true,
      maxModels: limits.maxModels,
      maxPixels: limits.maxPixels,
      images: images.map((image: PredictImage) => {
        if (image.data.length === 0) return { name: image.name, data: new Uint8Array(0), error: 'the file is empty' };
        if (image.data.length > limits.maxImageBytes) {
          const error = `the file is ${formatMiB(image.data.length)}; the limit is ${formatMiB(limits.maxImageBytes)} (PREDICT_MAX_IMAGE_BYTES)`;
          return { name: image.name, data: new Uint8Array(0), error };
        }
        return { name: image.name, data: new Uint8Array(image.data) }; // own copy: its buffer is transferred
      }),
    };
    return new Promise<Prediction[]>((resolve, reject) => {
      waiting.push({ request, resolve, reject });
      pump();
    });
  };

  return {
    predict,
    get pending() {
      return waiting.length + (running ? 1 : 0);
    },
    async close() {
      closed = true;
      for (const job of waiting.splice(0)) job.reject(new Error('the web server is shutting down'));
      const w = worker;
      worker = null;
      running?.reject(new Error('the web server is shutting down'));
      running = null;
      await w?.terminate();
    },
  };
}
