import { DATASET_DEFAULTS } from '@defectflow/engine/constants';
import { describe, expect, it } from 'vitest';
import { datasetNode } from './definition.ts';

describe('dataset definition', () => {
  it("parses {} to the loader's defaults (one list, in @defectflow/engine/constants), the sample and the latest version", () => {
    expect(datasetNode.params.parse({})).toEqual({ ...DATASET_DEFAULTS, path: 'sample-steel', version: 0 });
    expect(datasetNode.params.parse({})).toMatchObject({ valRatio: 0.15, testRatio: 0.15, seed: 42 });
  });

  it('keeps paths inside the datasets folder and leaves images for training', () => {
    expect(datasetNode.params.safeParse({ path: 'line-3/plates' }).success).toBe(true);
    expect(datasetNode.params.safeParse({ path: '../x' }).success).toBe(false);
    expect(datasetNode.params.safeParse({ path: '/abs' }).success).toBe(false);
    expect(datasetNode.params.safeParse({ valRatio: 0.5, testRatio: 0.5 }).success).toBe(false);
    expect(datasetNode.params.safeParse({ valRatio: 0.6 }).success).toBe(false);
  });

  it('is a source node with one Dataset output', () => {
    expect(datasetNode.inputs).toEqual([]);
    expect(datasetNode.outputs.map((p) => [p.name, p.type])).toEqual([['dataset', 'Dataset']]);
  });
});
