/**
 * The runner's artifact store (STORAGE_URL; default: FsStore rooted at DATA_DIR, where the keys are the files
 * the runner already writes, so uploads and downloads are no-ops). The lead's Redis event publisher calls
 * uploadRunArtifacts after an evaluate/deploy node finishes; predictions call ensureModelLocal; runs on a
 * machine without the dataset call materializeDataset with env.casDir.
 */
import { join } from 'node:path';
import { type ArtifactStore, storeFromEnv } from '@defectflow/storage';
import type { RunnerEnv } from './env.ts';

export { ensureModelLocal, materializeDataset, uploadRunArtifacts } from '@defectflow/storage';

export function createRunnerStore(env: Pick<RunnerEnv, 'storage' | 'dataDir'>): ArtifactStore {
  return storeFromEnv(env.storage ?? {}, env.dataDir);
}

/** This machine's content-addressed blob cache for materialized datasets, shared by its runners. */
export function runnerCasDir(env: Pick<RunnerEnv, 'dataDir'>): string {
  return join(env.dataDir, 'cache', 'blobs');
}
