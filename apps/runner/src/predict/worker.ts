/**
 * The prediction worker thread (started by queue.ts through worker-boot.mjs): TensorFlow.js and the
 * loaded models live here, so a prediction never blocks the runner's event loop (its tRPC and socket.io). One request at a time;
 * models are kept per folder, the least recently used unloaded past `maxModels`.
 * Every image gets its own answer: a file that is not an image, too large, over the pixel limit or with
 * corrupt pixel data gets an error naming the user's file, and the others are still predicted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';
import type { WorkerRequest, WorkerResponse } from './queue.ts';
import type { Prediction } from './types.ts';

type EngineApi = typeof import('@defectflow/engine');
type LoadedModel = Awaited<ReturnType<EngineApi['loadExportedModel']>>;

let enginePromise: Promise<EngineApi> | undefined;
const models = new Map<string, Promise<LoadedModel>>();

function engine(): Promise<EngineApi> {
  enginePromise ??= (async () => {
    const api = await import('@defectflow/engine');
    await api.initBackend({ prefer: 'auto' });
    return api;
  })();
  enginePromise.catch(() => {
    enginePromise = undefined; // retry on the next request
  });
  return enginePromise;
}

/** The loaded model of `dir`; a Map keeps insertion order, so re-inserting on use makes the first key the LRU one. */
function loadModel(api: EngineApi, dir: string, maxModels: number): Promise<LoadedModel> {
  let model = models.get(dir);
  if (model) models.delete(dir);
  else {
    model = api.loadExportedModel(dir);
    model.catch(() => models.delete(dir));
  }
  models.set(dir, model);
  while (models.size > maxModels) {
    const [oldestDir, oldest] = models.entries().next().value as [string, Promise<LoadedModel>];
    models.delete(oldestDir);
    void oldest.then((m) => {
      m.model?.dispose();
      void m.onnx?.session.release();
    }, () => {});
  }
  return model;
}

/** An engine message about a temp file, told with the user's file name (and without repeating it). */
function userFacing(err: unknown, tempPath: string, name: string): string {
  const reason = (err as { reason?: unknown }).reason;
  const text = typeof reason === 'string' ? reason : err instanceof Error ? err.message : String(err);
  return text
    .split(tempPath)
    .join(name)
    .replace(new RegExp(`^cannot read image ${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `, 'i'), '');
}

async function predict(req: WorkerRequest): Promise<Prediction[]> {
  const api = await engine();
  const model = await loadModel(api, req.modelDir, req.maxModels);
  const dir = await mkdtemp(join(tmpdir(), 'defectflow-predict-'));
  try {
    const results: Prediction[] = req.images.map((image) => ({ name: image.name, error: 'not predicted' }));
    const paths: string[] = [];
    const readable: number[] = [];
    for (const [k, image] of req.images.entries()) {
      const ext = extname(image.name).toLowerCase().replace(/[^.a-z0-9]/g, '') || '.img';
      const file = join(dir, `${k}${ext}`);
      paths.push(file);
      if (image.error) {
        results[k] = { name: image.name, error: image.error };
        continue;
      }
      await writeFile(file, image.data);
      // Header only (cheap): not an image, or over the pixel limit, is this file's error before any decode.
      try {
        await api.readImageHeader(file, { maxPixels: req.maxPixels });
        readable.push(k);
      } catch (err) {
        results[k] = { name: image.name, error: userFacing(err, file, image.name) };
      }
    }
    const rule = model.meta.decision ?? null;
    const store = (k: number, p: Awaited<ReturnType<EngineApi['predictImages']>>[number] | undefined) => {
      const name = req.images[k]?.name as string;
      if (!p) {
        results[k] = { name, error: 'the model returned no prediction' };
        return;
      }
      // The call predictImages made (decideClass): defect score = 1 − p(good) against the operating point.
      const decision = rule
        ? { defect: p.label !== rule.goodClass, defectScore: 1 - (p.probabilities[rule.goodClass] ?? 0), threshold: rule.threshold, goodClass: rule.goodClass }
        : undefined;
      results[k] = {
        name,
        label: p.label,
        confidence: p.confidence,
        scores: p.probabilities,
        ...(decision ? { decision } : {}),
        ...(p.drift ? { drift: p.drift } : {}),
      };
    };
    try {
      // All readable files in one call (batched by the engine) ...
      const batch = await api.predictImages(model, readable.map((k) => paths[k] as string), { maxPixels: req.maxPixels, drift: true });
      for (const [i, k] of readable.entries()) store(k, batch[i]);
    } catch {
      // ... unless one fails to decode (truncated pixel data): then each alone, so only that one fails.
      for (const k of readable) {
        try {
          store(k, (await api.predictImages(model, [paths[k] as string], { maxPixels: req.maxPixels, drift: true }))[0]);
        } catch (err) {
          results[k] = { name: req.images[k]?.name as string, error: userFacing(err, paths[k] as string, req.images[k]?.name as string) };
        }
      }
    }
    if (req.heatmap) {
      for (const k of readable) {
        const result = results[k];
        if (!result || result.error !== undefined) continue;
        try {
          result.heatmap = await api.classActivationMap(model, paths[k] as string, { maxPixels: req.maxPixels });
        } catch (err) {
          result.heatmap = { unavailable: userFacing(err, paths[k] as string, result.name) };
        }
      }
    }
    return results;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const port = parentPort;
if (!port) throw new Error('predict/worker.ts runs as a worker thread (see queue.ts)');
port.on('message', (req: WorkerRequest) => {
  predict(req).then(
    (predictions) => port.postMessage({ id: req.id, predictions } satisfies WorkerResponse),
    (err: unknown) => port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies WorkerResponse),
  );
});
