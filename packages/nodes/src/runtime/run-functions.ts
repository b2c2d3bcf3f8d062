import { runAugment } from './run/augment.ts';
import { runBackbone } from './run/backbone.ts';
import { runDataset } from './run/dataset.ts';
import { runDeploy } from './run/deploy.ts';
import { runEvaluate } from './run/evaluate.ts';
import { runFreeze } from './run/freeze.ts';
import { runHead } from './run/head.ts';
import { runTrain } from './run/train.ts';
import type { NodeRunFn } from './types.ts';

/** type → engine-backed run function (each a few lines around @defectflow/engine). */
export const nodeRunFunctions: Record<string, NodeRunFn> = {
  dataset: runDataset,
  augment: runAugment,
  backbone: runBackbone,
  freeze: runFreeze,
  head: runHead,
  train: runTrain,
  evaluate: runEvaluate,
  deploy: runDeploy,
};
