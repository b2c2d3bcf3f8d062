import { type Backbone, type FreezeMode, freezeBackbone } from '@defectflow/engine';
import type { NodeRunFn } from '../types.ts';
import { asNodeError, input, isBackbone } from './shared.ts';

export const runFreeze: NodeRunFn = async (inputs, params, ctx) => {
  const backbone = input<Backbone>(inputs, 'backbone', isBackbone);
  try {
    const frozen = await freezeBackbone(backbone, {
      mode: params.mode as FreezeMode | undefined,
      upToBlock: params.upToBlock as string | undefined,
      headEpochs: params.headEpochs as number | undefined,
      unfreezeBlocks: params.unfreezeBlocks as number | undefined,
      fineTuneLrFactor: params.fineTuneLrFactor as number | undefined,
    });
    for (const note of frozen.notes) ctx.log('warn', note);
    return {
      outputs: { backbone: frozen },
      summary: {
        mode: frozen.mode,
        boundary: frozen.boundary,
        trainableLayers: frozen.trainable ? frozen.trainable.layers.length - 1 : 0,
        trainableParams: frozen.trainable ? frozen.trainable.countParams() : 0,
      },
    };
  } catch (err) {
    throw asNodeError(err, 'freeze_invalid');
  }
};
