/**
 * One prediction request, whichever way it reached the runner: the runner's tRPC `predict` (embedded runner,
 * RUNNER_URL) or, in cluster mode, a BullMQ `df-predict` job (job data = the same PredictRequest). Checks the
 * request (PREDICT_MAX_IMAGES; each image's bytes, empty or over PREDICT_MAX_IMAGE_BYTES, become that image's own
 * error), confines the model folder to DATA_DIR/models, lets `ensureModel` fetch the folder first (cluster mode),
 * then hands the images to the worker queue (queue.ts: PREDICT_MAX_QUEUE, the worker thread holding TF.js).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { PathOutsideRootError, resolveInsideRoot } from '@defectflow/engine/data';
import type { PredictQueue } from './queue.ts';
import {
  formatMiB,
  type PredictLimits,
  PredictInputError,
  PredictModelNotFoundError,
  type PredictRequest,
  PredictRequestSchema,
  type PredictResponse,
} from './types.ts';

export interface PredictDeps {
  /** The runner's DATA_DIR/models: every model folder must resolve inside it. */
  modelsDir: string;
  /** The worker queue (createPredictQueue with the same limits). */
  queue: PredictQueue;
  limits: Pick<PredictLimits, 'maxImages' | 'maxImageBytes'>;
  /**
   * Called before the folder is read, e.g. to fetch `models/<modelId>/…` from the artifact store into `dir`
   * (cluster mode). Resolves when the folder is there; may throw PredictModelNotFoundError.
   */
  ensureModel?: (modelId: string, dir: string) => Promise<void>;
}

/** The folder of the request's model: `modelDir` (or the model id) inside the models folder, never the folder itself. */
export function confinedModelDir(modelsDir: string, modelId: string, modelDir = modelId): string {
  let dir: string;
  try {
    dir = resolveInsideRoot(modelsDir, modelDir);
  } catch (err) {
    if (err instanceof PathOutsideRootError) throw new PredictInputError(`model ${modelId}: ${err.message}`);
    throw err;
  }
  if (path.relative(path.resolve(modelsDir), dir) === '') {
    throw new PredictInputError(`model ${modelId}: "${modelDir}" names the models folder itself, not a model's folder`);
  }
  return dir;
}

export async function handlePredictRequest(request: PredictRequest | unknown, deps: PredictDeps): Promise<PredictResponse> {
  const parsed = PredictRequestSchema.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PredictInputError(`prediction request: ${issue?.path.join('.') || '(request)'}: ${issue?.message ?? 'invalid'}`);
  }
  const req = parsed.data;
  const { maxImages, maxImageBytes } = deps.limits;
  if (req.images.length > maxImages) {
    throw new PredictInputError(`${req.images.length} images sent; the limit is ${maxImages} per request (PREDICT_MAX_IMAGES)`);
  }
  const dir = confinedModelDir(deps.modelsDir, req.modelId, req.modelDir);
  await deps.ensureModel?.(req.modelId, dir);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) {
    throw new PredictModelNotFoundError(`model ${req.modelId}: no folder ${req.modelDir ?? req.modelId} in this runner's models folder`);
  }
  const images = req.images.map(({ name, data }) => {
    // Sized from the base64 length first: an oversized image is never decoded.
    const approx = Math.floor((data.length * 3) / 4);
    const bytes = approx > maxImageBytes + 3 ? null : Buffer.from(data, 'base64');
    const size = bytes?.length ?? approx;
    if (size === 0) return { name, data: new Uint8Array(0), error: 'the file is empty' };
    if (!bytes || size > maxImageBytes) {
      return { name, data: new Uint8Array(0), error: `the file is ${formatMiB(size)}; the limit is ${formatMiB(maxImageBytes)} (PREDICT_MAX_IMAGE_BYTES)` };
    }
    return { name, data: new Uint8Array(bytes) }; // own copy: its buffer is transferred to the worker
  });
  const predictions = await deps.queue.run({ modelDir: dir, images, heatmap: req.heatmap === true });
  return { predictions };
}
