/**
 * models.predict through the engine (`loadExportedModel` + `predictImages`). The engine, and with it
 * TensorFlow.js, is imported on first use: most web requests never need it. Loaded models are kept for
 * a few folders so repeated predictions do not reload weights.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Prediction, PredictFn } from './trpc.ts';

type EngineApi = typeof import('@defectflow/engine');
type LoadedModel = Awaited<ReturnType<EngineApi['loadExportedModel']>>;

const MAX_LOADED = 3;
const loaded = new Map<string, Promise<LoadedModel>>();
let enginePromise: Promise<EngineApi> | undefined;

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

function loadModel(api: EngineApi, dir: string): Promise<LoadedModel> {
  let model = loaded.get(dir);
  if (!model) {
    model = api.loadExportedModel(dir);
    model.catch(() => loaded.delete(dir));
    loaded.set(dir, model);
    if (loaded.size > MAX_LOADED) {
      const [oldestDir, oldest] = loaded.entries().next().value!;
      loaded.delete(oldestDir);
      void oldest.then((m) => m.model.dispose(), () => {});
    }
  }
  return model;
}

export const enginePredict: PredictFn = async (modelDir, images) => {
  const api = await engine();
  const model = await loadModel(api, modelDir);
  // The engine reads image files (sharp sniffs the format); uploads go to a private temp folder.
  const dir = await mkdtemp(join(tmpdir(), 'defectflow-predict-'));
  try {
    const paths: string[] = [];
    for (const [k, image] of images.entries()) {
      const ext = extname(image.name).toLowerCase().replace(/[^.a-z0-9]/g, '') || '.img';
      const file = join(dir, `${k}${ext}`);
      await writeFile(file, image.data);
      paths.push(file);
    }
    const results = await api.predictImages(model, paths);
    return images.map(
      (image, k): Prediction => ({
        name: image.name,
        label: results[k]?.label ?? '',
        confidence: results[k]?.confidence ?? 0,
        scores: results[k]?.probabilities ?? {},
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
};
