import { describe, expect, it } from 'vitest';
import { datasetNode } from './definition.ts';

describe('dataset definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(datasetNode.params.parse({})).toEqual({
      path: 'sample-steel',
      layout: 'auto',
      csvFile: 'labels.csv',
      valRatio: 0.15,
      testRatio: 0.15,
      seed: 42,
      maxPerClass: 0,
      version: 0,
    });
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
