import { OPERATING_MODES } from '@defectflow/engine/decision';
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
  operatingMode: z
    .enum(OPERATING_MODES)
    .default('argmax')
    .describe(
      'How a part is called defective. argmax = the most probable class. defect-recall = the strictest threshold on ' +
        'the defect score (1 − p(good)) that still catches the target share of defects. false-alarm = the loosest ' +
        'threshold that flags at most the target share of good parts. The threshold goes into the exported model. Needs a good class.',
    )
    .meta({ title: 'Operating point' }),
  targetRecall: z
    .number()
    .min(0.5)
    .max(1)
    .default(0.99)
    .describe('Share of defective images that must be caught on the evaluated split, e.g. 0.99 = catch 99 %.')
    .meta({ title: 'Target defect recall', showWhen: { operatingMode: ['defect-recall'] } }),
  maxFalseAlarm: z
    .number()
    .min(0)
    .max(0.5)
    .default(0.05)
    .describe('Largest share of good images that may be flagged as defective, e.g. 0.05 = 5 %.')
    .meta({ title: 'Max false-alarm rate', showWhen: { operatingMode: ['false-alarm'] } }),
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
