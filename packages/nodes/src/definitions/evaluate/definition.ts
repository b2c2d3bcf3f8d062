import { z } from 'zod';
import { defineNode } from '../shared.ts';

export const EVAL_SPLITS = ['test', 'val'] as const;

export const evaluateParams = z.strictObject({
  split: z
    .enum(EVAL_SPLITS)
    .default('test')
    .describe('Which held-out split to score. Report on test; val was already used to pick the best epoch.')
    .meta({ title: 'Split' }),
  goodClass: z
    .string()
    .default('')
    .describe('Class meaning "no defect", for the defect-vs-good ROC (empty = auto-detect good/ok/normal).')
    .meta({ title: 'Good class' }),
});

export type EvaluateParams = z.infer<typeof evaluateParams>;

export const evaluateNode = defineNode({
  type: 'evaluate',
  title: 'Evaluate',
  category: 'Training',
  description:
    'Scores the trained model on a held-out split: accuracy, per-class precision/recall/F1, macro F1, confusion ' +
    'matrix with the images in each cell, and defect-vs-good ROC/AUROC when a good class exists.',
  inputs: [
    { name: 'trained', type: 'TrainedModel', label: 'Trained model' },
    { name: 'dataset', type: 'Dataset', label: 'Dataset' },
  ],
  outputs: [{ name: 'metrics', type: 'Metrics', label: 'Metrics' }],
  params: evaluateParams,
  terminal: true,
});
