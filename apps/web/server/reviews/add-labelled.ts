/**
 * "Add N labelled images to the dataset": the review queue's labelled images become the next version of the dataset
 * the model was trained on, through the same code as "Add images" (add-images.ts): a staging folder of class folders
 * (a label the dataset lacks is a new class) handed to addImagesToDataset. Each file is named after its prediction
 * (`review-<id>.<ext>`) and the rows are marked with the version, so an image is never added twice.
 */
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Model, Repositories } from '@defectflow/db';
import { TRPCError } from '@trpc/server';
import { type AddedImages, addImagesToDataset } from '../datasets/add-images.ts';
import { HttpError } from '../datasets/staging.ts';
import { checkClassName } from '../datasets/versions.ts';
import { resolveInsideRoot } from '../paths.ts';
import type { PredictionLog } from '../predictions/log.ts';
import { trainingSource } from './source.ts';

/** Staging for review additions, inside DATASETS_ROOT (the move into the dataset is a rename) and hidden. */
export const REVIEW_STAGING_DIR = '.review-staging';

export interface AddedReviewImages extends AddedImages {
  /** Prediction rows added. */
  predictionIds: string[];
}

function trpcError(err: unknown): unknown {
  if (!(err instanceof HttpError)) return err;
  const code = err.status === 404 ? 'NOT_FOUND' : err.status === 409 ? 'CONFLICT' : err.status === 400 ? 'BAD_REQUEST' : 'INTERNAL_SERVER_ERROR';
  return new TRPCError({ code, message: err.message });
}

export async function addLabelledToDataset(
  deps: { repo: Repositories; datasetsRoot: string; predictionLog: PredictionLog },
  model: Model,
): Promise<AddedReviewImages> {
  const { repo, datasetsRoot, predictionLog } = deps;
  const source = await trainingSource(repo, model);
  // Kept on another web server (cluster mode): fetched from the store; one that is gone everywhere is left out.
  const labelled = await repo.predictions.labelledNotAdded(model.id);
  const files = new Map<string, string>();
  for (const r of labelled) {
    const file = await predictionLog.localImage(r);
    if (file) files.set(r.id, file);
  }
  const rows = labelled.filter((r) => files.has(r.id));
  if (rows.length === 0) {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Model ${model.id} has no labelled images waiting to be added: label some in the review queue first` });
  }
  const staging = resolveInsideRoot(datasetsRoot, `${REVIEW_STAGING_DIR}/${randomUUID()}`);
  try {
    for (const r of rows) {
      const label = checkClassName(r.reviewedLabel as string);
      const file = files.get(r.id) as string;
      await mkdir(join(staging, label), { recursive: true });
      await copyFile(file, join(staging, label, `review-${r.id}${extname(file)}`));
    }
    const added = await addImagesToDataset(repo, datasetsRoot, source.dataset, staging).catch((err: unknown) => {
      throw trpcError(err);
    });
    await repo.predictions.markAdded(
      rows.map((r) => r.id),
      source.dataset,
      added.version,
    );
    return { ...added, predictionIds: rows.map((r) => r.id) };
  } finally {
    await rm(staging, { recursive: true, force: true }); // moved into the dataset on success: nothing left to remove
  }
}
