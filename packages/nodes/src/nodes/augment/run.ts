import { augmentationSignature, normalizeAugmentPolicy } from '@defectflow/engine';
import type { AugmentParams } from './definition.ts';
import type { NodeRunFn } from '../../runtime/types.ts';
import { type DatasetValue, input, isDataset } from '../../runtime/run-helpers.ts';

export const runAugment: NodeRunFn<AugmentParams> = async (inputs, params) => {
  const dataset = input(inputs, 'dataset', isDataset);
  const policy = normalizeAugmentPolicy(params);
  const value: DatasetValue = { manifest: dataset.manifest, augmentation: policy };
  const trainImages = dataset.manifest.items.filter((i) => i.split === 'train').length;
  return {
    outputs: { dataset: value },
    summary: { copies: policy.copies, trainViews: trainImages * (1 + policy.copies), signature: augmentationSignature(policy) },
  };
};
