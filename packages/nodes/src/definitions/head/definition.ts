import { z } from 'zod';
import { defineNode } from '../shared.ts';

export const HEAD_POOLINGS = ['avg', 'max', 'avgmax'] as const;

export const headParams = z.strictObject({
  pooling: z
    .enum(HEAD_POOLINGS)
    .default('avg')
    .describe('How the feature map becomes a vector: global average, global max, or both concatenated (avgmax).')
    .meta({ title: 'Pooling' }),
  hidden: z
    .int()
    .min(0)
    .max(2048)
    .default(128)
    .describe('Units of the hidden dense layer (0 = no hidden layer: pooling goes straight to the softmax).')
    .meta({ title: 'Hidden units' }),
  dropout: z
    .number()
    .min(0)
    .max(0.9)
    .default(0.2)
    .describe('Dropout rate before the classifier layer; higher fights overfitting on small datasets.')
    .meta({ title: 'Dropout' }),
});

export type HeadParams = z.infer<typeof headParams>;

export const headNode = defineNode({
  type: 'head',
  title: 'Classifier head',
  category: 'Model',
  description: 'Puts a classifier on the backbone: pooling → dropout → dense → softmax over the dataset classes.',
  inputs: [{ name: 'backbone', type: 'Backbone', label: 'Backbone' }],
  outputs: [{ name: 'model', type: 'Model', label: 'Model' }],
  params: headParams,
});
