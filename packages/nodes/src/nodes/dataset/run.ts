import { loadDataset, resolveDatasetVersion, resolveInsideRoot } from '@defectflow/engine';
import { stat } from 'node:fs/promises';
import type { DatasetParams } from './definition.ts';
import type { NodeRunFn } from '../../runtime/types.ts';
import { type DatasetValue, asNodeError } from '../../runtime/run-helpers.ts';

export const runDataset: NodeRunFn<DatasetParams> = async (_inputs, params, ctx) => {
  try {
    // Dataset versions (see engine data/dataset/versions.ts): version ≥ 2 loads `.versions/v<N>.csv`.
    const dataset = await resolveVersion(ctx.dirs.datasetsRoot, params.path, params.version);
    const manifest = await loadDataset({
      root: ctx.dirs.datasetsRoot,
      path: params.path,
      layout: dataset.csvFile ? 'csv' : params.layout,
      csvFile: dataset.csvFile ?? params.csvFile,
      valRatio: params.valRatio,
      testRatio: params.testRatio,
      seed: params.seed,
      maxPerClass: params.maxPerClass,
      maxPixels: ctx.limits?.imageMaxPixels,
      signal: ctx.signal,
      onProgress: (phase, done, total) => ctx.progress(phase, done, total),
    });
    for (const w of manifest.warnings) ctx.log('warn', w.message);
    const value: DatasetValue = { manifest, augmentation: null };
    return {
      outputs: { dataset: value },
      summary: {
        classes: manifest.classes,
        images: manifest.items.length,
        counts: Object.fromEntries(Object.entries(manifest.counts).map(([c, n]) => [c, n.total])),
        split: { train: countSplit(value, 'train'), val: countSplit(value, 'val'), test: countSplit(value, 'test') },
        warnings: manifest.warnings.length,
        version: dataset.version,
        signature: manifest.signature,
      },
    };
  } catch (err) {
    throw asNodeError(err, 'dataset_invalid');
  }
};

function countSplit(d: DatasetValue, split: string): number {
  return d.manifest.items.filter((i) => i.split === split).length;
}

/** Versions apply to dataset folders; a path naming a CSV file is loaded as it is (version 1). */
async function resolveVersion(root: string, datasetPath: string, requested: number) {
  const dir = resolveInsideRoot(root, datasetPath);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) return { version: 1, csvFile: null };
  return resolveDatasetVersion(dir, requested);
}
