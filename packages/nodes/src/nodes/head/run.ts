import type { HeadSpec } from '@defectflow/engine';
import type { HeadParams } from './definition.ts';
import type { NodeRunFn } from '../../runtime/types.ts';
import { type ModelValue, input, isBackbone } from '../../runtime/run-helpers.ts';

export const runHead: NodeRunFn<HeadParams> = async (inputs, params) => {
  const backbone = input(inputs, 'backbone', isBackbone);
  const { kind, filters, pooling, hidden, dropout } = params;
  const headSpec: HeadSpec = { kind, filters, pooling, hidden, dropout };
  const value: ModelValue = { backbone, headSpec };
  return { outputs: { model: value }, summary: { ...headSpec, featureShape: backbone.outputShape } };
};
