import { FREEZE_MODES } from '@defectflow/engine/constants';
import { z } from 'zod';
import { defineNode } from '../shared.ts';

export const freezeParams = z.strictObject({
  mode: z
    .enum(FREEZE_MODES)
    .default('all')
    .describe(
      'all: train only the head (fastest, least data). upTo: freeze the backbone up to a named layer. ' +
        'staged: train the head first, then unfreeze the top blocks at a lower learning rate. With the spatial head ' +
        'the blocks train in ONNX Runtime: measured ≈ 7–10 s per fine-tune epoch (≈ 1 s per head-only epoch: the blocks ' +
        'run once for those) for the top 2 blocks on the 1,800-image steel sample at 160 px on 2 cores, against ≈ 190 s ' +
        'through TF.js autodiff; the default template with 5 head + 5 fine-tune epochs took 66–78 s from Run to exported ' +
        'model (frozen: 21 s). On the sample sets it did not clearly beat frozen features (steel 0.974 vs 0.967, ' +
        'small-defect tiles 0.970 vs 0.975).',
    )
    .meta({ title: 'Mode' }),
  upToBlock: z
    .string()
    .min(1)
    .default('block_10_expand_relu')
    .describe('Backbone layer up to and including which everything stays frozen (upTo mode).')
    .meta({ title: 'Freeze up to layer', showWhen: { mode: ['upTo'] } }),
  headEpochs: z
    .int()
    .min(1)
    .max(200)
    .default(5)
    .describe('Epochs that train the head alone before the backbone is partly unfrozen (staged mode).')
    .meta({ title: 'Head-only epochs', showWhen: { mode: ['staged'] } }),
  unfreezeBlocks: z
    .int()
    .min(1)
    .max(16)
    .default(2)
    .describe('How many of the top backbone blocks are unfrozen for fine-tuning (staged mode).')
    .meta({ title: 'Blocks to unfreeze', showWhen: { mode: ['staged'] } }),
  fineTuneLrFactor: z
    .number()
    .min(0.001)
    .max(1)
    .default(0.1)
    .describe('Learning-rate multiplier for the fine-tuning phase (staged mode).')
    .meta({ title: 'Fine-tune LR factor', showWhen: { mode: ['staged'] } }),
});

export type FreezeParams = z.infer<typeof freezeParams>;

export const freezeNode = defineNode({
  type: 'freeze',
  title: 'Freeze',
  category: 'Model',
  description:
    'Chooses which backbone layers are trained: none (freeze all), those after a named layer, or a staged ' +
    'schedule that fine-tunes the top blocks after the head has settled.',
  inputs: [{ name: 'backbone', type: 'Backbone', label: 'Backbone' }],
  outputs: [{ name: 'backbone', type: 'Backbone', label: 'Backbone' }],
  params: freezeParams,
});
