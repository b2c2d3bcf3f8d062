import { freezeBackbone } from '@defectflow/engine';
import type { FreezeParams } from './definition.ts';
import type { NodeRunFn } from '../../runtime/types.ts';
import { asNodeError, input, isBackbone } from '../../runtime/run-helpers.ts';

export const runFreeze: NodeRunFn<FreezeParams> = async (inputs, params, ctx) => {
  const backbone = input(inputs, 'backbone', isBackbone);
  try {
    const frozen = await freezeBackbone(backbone, params);
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
