import type { Backbone, HeadSpec, Pooling } from '@defectflow/engine';
import type { NodeRunFn } from '../types.ts';
import { type ModelValue, input, isBackbone } from './shared.ts';

export const runHead: NodeRunFn = async (inputs, params) => {
  const backbone = input<Backbone>(inputs, 'backbone', isBackbone);
  const headSpec: HeadSpec = {
    pooling: (params.pooling ?? 'avg') as Pooling,
    hidden: (params.hidden ?? 128) as number,
    dropout: (params.dropout ?? 0.2) as number,
  };
  const value: ModelValue = { backbone, headSpec };
  return { outputs: { model: value }, summary: { ...headSpec, featureShape: backbone.outputShape } };
};
