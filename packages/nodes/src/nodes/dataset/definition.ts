import { DATASET_DEFAULTS, DATASET_LAYOUTS } from '@defectflow/engine/constants';
import { z } from 'zod';
import { defineNode, seedParam } from '../shared.ts';

/** A relative path that stays inside DATASETS_ROOT: no absolute paths, no `..` segments. */
function isContainedPath(path: string): boolean {
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) return false;
  return !path.split(/[\\/]+/).includes('..');
}

export const datasetParams = z
  .strictObject({
    path: z
      .string()
      .min(1)
      .refine(isContainedPath, {
        message: 'must be a path relative to the datasets folder (no leading "/" and no ".." segments)',
      })
      .default('sample-steel')
      .describe('Folder of the dataset, relative to the datasets folder (DATASETS_ROOT).')
      .meta({ title: 'Dataset folder' }),
    layout: z
      .enum(DATASET_LAYOUTS)
      .default(DATASET_DEFAULTS.layout)
      .describe(
        'How images are organised: one folder per class, the MVTec-AD layout (train/good, test/<defect>), ' +
          'a CSV manifest, or auto-detect.',
      )
      .meta({ title: 'Layout' }),
    csvFile: z
      .string()
      .min(1)
      .default(DATASET_DEFAULTS.csvFile)
      .describe('CSV manifest inside the dataset folder with columns path,label[,split]. Used only for the csv layout.')
      .meta({ title: 'CSV file', showWhen: { layout: ['csv'] } }),
    valRatio: z
      .number()
      .min(0)
      .max(0.5)
      .default(DATASET_DEFAULTS.valRatio)
      .describe('Share of each class held out for validation (early stopping, model selection).')
      .meta({ title: 'Validation share' }),
    testRatio: z
      .number()
      .min(0)
      .max(0.5)
      .default(DATASET_DEFAULTS.testRatio)
      .describe('Share of each class held out for the final test report. Never used for training.')
      .meta({ title: 'Test share' }),
    seed: seedParam('the stratified train/val/test split'),
    maxPerClass: z
      .int()
      .min(0)
      .default(DATASET_DEFAULTS.maxPerClass)
      .describe('Use at most this many images per class (0 = all). Handy for quick trial runs.')
      .meta({ title: 'Max images per class' }),
    // Additive (datasets issue): edits in the dataset page create versions; a run pins the one it used.
    version: z
      .int()
      .min(0)
      .default(0)
      .describe('Dataset version to train on (0 = the latest). Relabels and deletions in the dataset page create new versions.')
      .meta({ title: 'Dataset version' }),
  })
  .refine((p) => p.valRatio + p.testRatio < 1, {
    message: 'together with valRatio must leave images for training (valRatio + testRatio below 1)',
    path: ['testRatio'],
  });

export type DatasetParams = z.infer<typeof datasetParams>;

export const datasetNode = defineNode({
  type: 'dataset',
  title: 'Dataset',
  category: 'Data',
  description:
    'Loads labelled images from a folder under the datasets root (folder per class, MVTec-AD or CSV) and makes a ' +
    'seeded, stratified train/val/test split. Reports class counts, imbalance and unreadable files.',
  inputs: [],
  outputs: [{ name: 'dataset', type: 'Dataset', label: 'Dataset' }],
  params: datasetParams,
});
