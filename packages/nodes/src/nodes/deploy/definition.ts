import { z } from 'zod';
import { defineNode } from '../shared.ts';

export const GATE_METRICS = ['none', 'accuracy', 'macroF1'] as const;

export const deployParams = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9 _.-]+$/, { message: 'may contain only letters, digits, spaces and _ . -' })
    .default('defect-model')
    .describe('Name the exported model is registered under (1–64 characters: letters, digits, space, _ . -).')
    .meta({ title: 'Model name' }),
  gateMetric: z
    .enum(GATE_METRICS)
    .default('none')
    .describe('Deploy only if this metric (from a connected Evaluate node) reaches the minimum; none = always deploy.')
    .meta({ title: 'Quality gate' }),
  gateMin: z
    .number()
    .min(0)
    .max(1)
    .default(0.9)
    .describe('Minimum value of the gate metric, 0–1.')
    .meta({ title: 'Gate minimum', showWhen: { gateMetric: ['accuracy', 'macroF1'] } }),
  gateBaseline: z
    .boolean()
    .default(false)
    .describe(
      'Deploy only if the accuracy beats always answering the largest class (the baseline the Evaluate node reports) ' +
        'by at least the margin below. Needs the metrics input.',
    )
    .meta({ title: 'Must beat the baseline' }),
  baselineMargin: z
    .number()
    .min(0)
    .max(0.5)
    .default(0.05)
    .describe('How far above the baseline accuracy the model must be, 0–0.5 (0.05 = 5 accuracy points).')
    .meta({ title: 'Baseline margin', showWhen: { gateBaseline: [true] } }),
});

export type DeployParams = z.infer<typeof deployParams>;

export const deployNode = defineNode({
  type: 'deploy',
  title: 'Deploy',
  category: 'Output',
  description:
    'Exports a self-contained model (preprocessing and labels inside) to models/<id>/ and registers it for ' +
    'predictions, optionally only when the evaluation passes a quality gate.',
  inputs: [
    { name: 'trained', type: 'TrainedModel', label: 'Trained model' },
    { name: 'metrics', type: 'Metrics', label: 'Metrics (gate)', optional: true },
  ],
  outputs: [{ name: 'deployment', type: 'Deployment', label: 'Deployment' }],
  params: deployParams,
  terminal: true,
});
