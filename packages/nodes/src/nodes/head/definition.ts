import { z } from 'zod';
import { defineNode } from '../shared.ts';

export const HEAD_POOLINGS = ['avg', 'max', 'avgmax'] as const;
export const HEAD_KINDS = ['spatial', 'dense'] as const;

export const headParams = z.strictObject({
  kind: z
    .enum(HEAD_KINDS)
    .default('spatial')
    .describe(
      'spatial: a learned local detector (1×1 convolution → batch norm → ReLU) runs over the feature map before pooling, ' +
        'so a defect covering a few percent of the image still fires — best for small, local defects on a good surface. ' +
        'dense: the map is pooled first and dense layers classify the vector — fine when the whole image is the texture ' +
        '(and the fastest to train).',
    )
    .meta({ title: 'Head kind' }),
  filters: z
    .int()
    .min(4)
    .max(512)
    .default(128)
    .describe('Filters of the spatial head\'s 1×1 convolution: local patterns it can tell apart. More costs training time.')
    .meta({ title: 'Filters', showWhen: { kind: ['spatial'] } }),
  pooling: z
    .enum(HEAD_POOLINGS)
    .default('max')
    .describe(
      'How the map becomes a vector: global average (whole-image textures), global max (a small defect anywhere), ' +
        'or both concatenated (avgmax).',
    )
    .meta({ title: 'Pooling' }),
  hidden: z
    .int()
    .min(0)
    .max(2048)
    .default(128)
    .describe('Units of the hidden dense layer (0 = no hidden layer: pooling goes straight to the softmax).')
    .meta({ title: 'Hidden units', showWhen: { kind: ['dense'] } }),
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
  description:
    'Puts a classifier on the backbone: a spatial head (1×1 conv → batch norm → ReLU → pooling → dense) or a dense ' +
    'head (pooling → dense layers), softmax over the dataset classes.',
  inputs: [{ name: 'backbone', type: 'Backbone', label: 'Backbone' }],
  outputs: [{ name: 'model', type: 'Model', label: 'Model' }],
  params: headParams,
});
