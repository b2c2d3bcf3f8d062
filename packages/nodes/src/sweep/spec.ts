/**
 * A hyperparameter sweep over a pipeline (browser-safe): what varies, how trials are chosen, what is optimised.
 * The web server, the CLI and the editor's sweep dialog all read this one schema.
 *
 * Trials are scored on the validation split only: every evaluate node of a trial graph scores `val`, deploy nodes
 * are left out, and the test split is scored once, by the final run of the best parameters (see trial-graph.ts).
 */
import { z } from 'zod';
import { SAFE_ID_PATTERN } from '../graph.ts';

export const SWEEP_STRATEGIES = ['grid', 'random', 'halving'] as const;
export type SweepStrategy = (typeof SWEEP_STRATEGIES)[number];

/**
 * What a trial is ranked by. macroF1/accuracy/auroc come from the trial's evaluate node (on the validation split);
 * valLoss from its train node (best epoch). macroF1 is the default: on imbalanced data (mostly good parts)
 * accuracy rewards "always say good".
 */
export const SWEEP_METRICS = ['macroF1', 'accuracy', 'auroc', 'valLoss'] as const;
export type SweepMetric = (typeof SWEEP_METRICS)[number];
export const SWEEP_METRIC_LABELS: Record<SweepMetric, string> = {
  macroF1: 'validation macro F1',
  accuracy: 'validation accuracy',
  auroc: 'validation AUROC (defect vs good)',
  valLoss: 'validation loss',
};
/** valLoss is minimised; the others maximised. */
export function higherIsBetter(metric: SweepMetric): boolean {
  return metric !== 'valLoss';
}

/** Node types whose params a sweep may vary: the ones that shape training, not the data split or the outputs. */
export const SWEEPABLE_NODE_TYPES = ['augment', 'backbone', 'freeze', 'head', 'train'] as const;

export const SWEEP_LIMITS = { dimensions: 8, listValues: 50, steps: 20, trials: 500, minutes: 24 * 60, parallel: 16 } as const;

const nodeRef = {
  nodeId: z.string().regex(SAFE_ID_PATTERN, 'a node id: 1-64 letters, digits, "_" or "-"'),
  param: z.string().min(1).max(64),
};

const scalar = z.union([z.number(), z.string().max(256), z.boolean()]);
export type SweepValue = z.infer<typeof scalar>;

/**
 * One varied parameter. `list`: these values. `range`: evenly spaced from min to max (`steps` points on a grid,
 * uniform for random). `log`: the same on a log scale (learning rates, weight decay); min > 0.
 * Integer params are rounded (and de-duplicated on a grid).
 */
export const sweepDimensionSchema = z.discriminatedUnion('kind', [
  z.strictObject({ ...nodeRef, kind: z.literal('list'), values: z.array(scalar).min(1).max(SWEEP_LIMITS.listValues) }),
  z.strictObject({
    ...nodeRef,
    kind: z.literal('range'),
    min: z.number(),
    max: z.number(),
    steps: z.int().min(2).max(SWEEP_LIMITS.steps).default(5),
  }),
  z.strictObject({
    ...nodeRef,
    kind: z.literal('log'),
    min: z.number().positive(),
    max: z.number().positive(),
    steps: z.int().min(2).max(SWEEP_LIMITS.steps).default(5),
  }),
]);
export type SweepDimension = z.output<typeof sweepDimensionSchema>;

export const sweepSpecSchema = z.strictObject({
  dimensions: z.array(sweepDimensionSchema).min(1).max(SWEEP_LIMITS.dimensions),
  strategy: z.enum(SWEEP_STRATEGIES).default('random'),
  metric: z.enum(SWEEP_METRICS).default('macroF1'),
  budget: z
    .strictObject({
      /** Most trials to run (a grid smaller than this runs whole). */
      trials: z.int().min(1).max(SWEEP_LIMITS.trials).default(20),
      /** Stop starting new trials after this many minutes (running ones finish). */
      minutes: z.number().positive().max(SWEEP_LIMITS.minutes).optional(),
    })
    .default({ trials: 20 }),
  /** Seeds the random and halving draws: the same spec on the same graph proposes the same trials. */
  seed: z.int().min(0).max(2 ** 31 - 1).default(1),
  /**
   * Successive halving: every configuration first trains `minEpochs` epochs; the best 1/eta of each rung train
   * eta× as many epochs, up to the train node's own epochs. Trials are runs, so a promoted one reruns from the
   * cached features.
   */
  halving: z
    .strictObject({ eta: z.int().min(2).max(5).default(3), minEpochs: z.int().min(1).max(100).default(3) })
    .default({ eta: 3, minEpochs: 3 }),
  /** Trials queued at once (the runner works through them in order; several runners take several). */
  parallel: z.int().min(1).max(SWEEP_LIMITS.parallel).default(2),
  /**
   * Trial 1 is the pipeline as it is (the varied params at their current values), so the sweep shows whether it beat
   * the current settings on validation. Random: one of the budget's trials; grid: an extra trial when the current
   * values are not a grid point; halving: a rung-0 configuration like the others, promoted on merit.
   */
  baseline: z.boolean().default(true),
});
export type SweepSpec = z.output<typeof sweepSpecSchema>;
export type SweepSpecInput = z.input<typeof sweepSpecSchema>;

/** A trial's parameter values, keyed `${nodeId}.${param}` (paramKey). */
export type TrialParams = Record<string, SweepValue>;

export function paramKey(nodeId: string, param: string): string {
  return `${nodeId}.${param}`;
}

export function splitParamKey(key: string): { nodeId: string; param: string } {
  const dot = key.indexOf('.');
  return { nodeId: key.slice(0, dot), param: key.slice(dot + 1) };
}
