/**
 * Predictions off the runner's event loop: one long-lived worker thread (worker.ts) holds TensorFlow.js and the
 * loaded models. Requests run one at a time in arrival order; past PREDICT_MAX_QUEUE waiting (the running one
 * included) a request is refused at once with PredictBusyError. A crashed worker fails its request and is
 * started again for the next one. The checks on the request itself are handler.ts's.
 */
import { Worker } from 'node:worker_threads';
import { PredictBusyError, type Prediction } from './types.ts';

/** What the worker gets: the images, or an error already known for one (too large, empty). */
export interface WorkerRequest {
  id: number;
  /** Absolute, already confined to the models folder (handler.ts). */
  modelDir: string;
  images: Array<{ name: string; data: Uint8Array; error?: string }>;
  heatmap?: boolean;
  maxModels: number;
  maxPixels: number;
}

export type WorkerResponse = { id: number; predictions: Prediction[] } | { id: number; error: string };

interface Job {
  request: WorkerRequest;
  resolve(predictions: Prediction[]): void;
  reject(err: Error): void;
}

export interface PredictQueue {
  run(request: Omit<WorkerRequest, 'id' | 'maxModels' | 'maxPixels'>): Promise<Prediction[]>;
  /** Requests waiting or running. */
  readonly pending: number;
  close(): Promise<void>;
}

export function createPredictQueue(limits: { maxQueue: number; maxModels: number; maxPixels: number }): PredictQueue {
  const waiting: Job[] = [];
  let running: Job | null = null;
  let worker: Worker | null = null;
  let nextId = 1;
  let closed = false;

  const startWorker = (): Worker => {
    const w = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
      workerData: { entry: new URL('./worker.ts', import.meta.url).href },
    });
    w.unref(); // an idle worker never keeps the process alive
    w.on('message', (res: WorkerResponse) => {
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

  return {
    run(request) {
      if (closed) return Promise.reject(new Error('the runner is shutting down'));
      const pending = waiting.length + (running ? 1 : 0);
      if (pending >= limits.maxQueue) {
        return Promise.reject(
          new PredictBusyError(
            `The prediction worker is busy: ${pending} requests are waiting or running (limit PREDICT_MAX_QUEUE=${limits.maxQueue}); try again shortly`,
          ),
        );
      }
      const full: WorkerRequest = { ...request, id: nextId++, maxModels: limits.maxModels, maxPixels: limits.maxPixels };
      return new Promise<Prediction[]>((resolve, reject) => {
        waiting.push({ request: full, resolve, reject });
        pump();
      });
    },
    get pending() {
      return waiting.length + (running ? 1 : 0);
    },
    async close() {
      closed = true;
      for (const job of waiting.splice(0)) job.reject(new Error('the runner is shutting down'));
      const w = worker;
      worker = null;
      running?.reject(new Error('the runner is shutting down'));
      running = null;
      await w?.terminate();
    },
  };
}
