import type { Backbone, HeadSpec } from '@defectflow/engine';
import { headParams } from '../../definitions/head/definition.ts';
import type { NodeRunFn } from '../types.ts';
import { type ModelValue, input, isBackbone } from './shared.ts';

export const runHead: NodeRunFn = async (inputs, params) => {
  const backbone = input<Backbone>(inputs, 'backbone', isBackbone);
  // The definition's schema types the params and fills their defaults (written once, there).
  const { kind, filters, pooling, hidden, dropout } = headParams.parse(params);
  const headSpec: HeadSpec = { kind, filters, pooling, hidden, dropout };
  const value: ModelValue = { backbone, headSpec };
  return { outputs: { model: value }, summary: { ...headSpec, featureShape: backbone.outputShape } };
};
