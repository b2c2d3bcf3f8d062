import { DEFAULT_AUGMENT_POLICY as D } from '@defectflow/engine/constants';
import { z } from 'zod';
import { defineNode, seedParam } from '../shared.ts';

export const augmentParams = z.strictObject({
  hflip: z.boolean().default(D.hflip).describe('Randomly mirror images left-right.').meta({ title: 'Horizontal flip' }),
  vflip: z.boolean().default(D.vflip).describe('Randomly mirror images top-bottom.').meta({ title: 'Vertical flip' }),
  rot90: z
    .boolean()
    .default(D.rot90)
    .describe('Randomly rotate by a multiple of 90°. Suits surface textures with no natural "up".')
    .meta({ title: '90° rotations' }),
  cropScale: z
    .number()
    .min(0)
    .max(0.5)
    .default(D.cropScale)
    .describe('Random crop-and-rescale: up to this share of each side is cut away (0 = off).')
    .meta({ title: 'Crop / scale' }),
  brightness: z
    .number()
    .min(0)
    .max(0.5)
    .default(D.brightness)
    .describe('Random brightness shift of up to ± this fraction (0 = off).')
    .meta({ title: 'Brightness' }),
  contrast: z
    .number()
    .min(0)
    .max(0.5)
    .default(D.contrast)
    .describe('Random contrast change of up to ± this fraction (0 = off).')
    .meta({ title: 'Contrast' }),
  noise: z
    .number()
    .min(0)
    .max(0.2)
    .default(D.noise)
    .describe('Standard deviation of added Gaussian pixel noise, on a 0–1 pixel scale (0 = off).')
    .meta({ title: 'Noise' }),
  blur: z
    .number()
    .min(0)
    .max(3)
    .default(D.blur)
    .describe('Sigma of a random Gaussian blur, in pixels (0 = off).')
    .meta({ title: 'Blur sigma' }),
  copies: z
    .int()
    .min(0)
    .max(10)
    .default(D.copies)
    .describe('Augmented views added per training image (0 = augmentation off). Validation and test images are never augmented.')
    .meta({ title: 'Copies per image' }),
  seed: seedParam('the random augmentations'),
});

export type AugmentParams = z.infer<typeof augmentParams>;

export const augmentNode = defineNode({
  type: 'augment',
  title: 'Augment',
  category: 'Data',
  description:
    'Adds randomly transformed copies of the training images (flips, 90° rotations, crop/scale, brightness, ' +
    'contrast, noise, blur). Only the train split is augmented.',
  inputs: [{ name: 'dataset', type: 'Dataset', label: 'Dataset' }],
  outputs: [{ name: 'dataset', type: 'Dataset', label: 'Augmented dataset' }],
  params: augmentParams,
});
