import { z } from 'zod';
import { defineNode, seedParam } from '../shared.ts';

export const OPTIMIZERS = ['adam', 'sgd'] as const;
export const LR_SCHEDULES = ['constant', 'cosine', 'step'] as const;
export const CLASS_WEIGHTINGS = ['none', 'balanced'] as const;

export const trainParams = z.strictObject({
  optimizer: z
    .enum(OPTIMIZERS)
    .default('adam')
    .describe('adam adapts per weight and rarely needs tuning; sgd (with momentum) can generalise slightly better.')
    .meta({ title: 'Optimizer' }),
  learningRate: z
    .number()
    .min(1e-5)
    .max(1)
    .default(0.001)
    .describe('Starting learning rate.')
    .meta({ title: 'Learning rate' }),
  schedule: z
    .enum(LR_SCHEDULES)
    .default('cosine')
    .describe('How the learning rate changes over epochs: constant, cosine decay to zero, or step decay.')
    .meta({ title: 'LR schedule' }),
  batchSize: z.int().min(1).max(512).default(32).describe('Images per training step.').meta({ title: 'Batch size' }),
  epochs: z
    .int()
    .min(1)
    .max(500)
    .default(30)
    .describe('Maximum passes over the training set (early stopping may end sooner).')
    .meta({ title: 'Epochs' }),
  earlyStopping: z
    .boolean()
    .default(true)
    .describe('Stop when validation loss has not improved for `patience` epochs.')
    .meta({ title: 'Early stopping' }),
  patience: z
    .int()
    .min(1)
    .max(100)
    .default(5)
    .describe('Epochs without validation improvement before early stopping ends training.')
    .meta({ title: 'Patience', showWhen: { earlyStopping: [true] } }),
  classWeights: z
    .enum(CLASS_WEIGHTINGS)
    .default('none')
    .describe(
      'none: every image counts the same, which maximises accuracy (the default: with a spatial head rare defects are ' +
        'learned anyway, and classes under 200 training views get extra augmented views). balanced: each class weighs ' +
        'by its inverse frequency, so rare defects count as much as good parts — raises their recall at the cost of ' +
        'false alarms; try it when a dense head answers "good" for everything.',
    )
    .meta({ title: 'Class weights' }),
  smallClassViews: z
    .boolean()
    .default(true)
    .describe(
      'Give classes with fewer than 200 training views (few-shot sets, rare defects) up to 15 extra augmented views of ' +
        'each image. Needs an Augment node; said in the log when it happens.',
    )
    .meta({ title: 'Extra views for small classes' }),
  restoreBest: z
    .boolean()
    .default(true)
    .describe('Keep the weights of the epoch with the best validation loss, not the last epoch.')
    .meta({ title: 'Restore best epoch' }),
  seed: seedParam('weight initialisation and batch shuffling'),
});

export type TrainParams = z.infer<typeof trainParams>;

export const trainNode = defineNode({
  type: 'train',
  title: 'Train',
  category: 'Training',
  description:
    'Trains the model on the train split, monitoring the validation split: optimizer, learning-rate schedule, ' +
    'early stopping and class weights. Caches backbone activations at the freeze boundary.',
  inputs: [
    { name: 'dataset', type: 'Dataset', label: 'Dataset' },
    { name: 'model', type: 'Model', label: 'Model' },
  ],
  outputs: [{ name: 'trained', type: 'TrainedModel', label: 'Trained model' }],
  params: trainParams,
  terminal: true,
});
