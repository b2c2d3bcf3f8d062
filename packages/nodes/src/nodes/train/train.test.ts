import { describe, expect, it } from 'vitest';
import { trainNode } from './definition.ts';

describe('train definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(trainNode.params.parse({})).toEqual({
      optimizer: 'adam',
      learningRate: 0.001,
      schedule: 'cosine',
      batchSize: 32,
      epochs: 30,
      earlyStopping: true,
      patience: 5,
      classWeights: 'none',
      smallClassViews: true,
      restoreBest: true,
      seed: 42,
    });
  });

  it('enforces the ranges', () => {
    expect(trainNode.params.safeParse({ learningRate: 1e-6 }).success).toBe(false);
    expect(trainNode.params.safeParse({ batchSize: 513 }).success).toBe(false);
    expect(trainNode.params.safeParse({ epochs: 500, patience: 100 }).success).toBe(true);
    expect(trainNode.params.safeParse({ optimizer: 'rmsprop' }).success).toBe(false);
  });

  it('takes Dataset + Model, gives TrainedModel, and may end a pipeline', () => {
    expect(trainNode.inputs.map((p) => [p.name, p.type])).toEqual([
      ['dataset', 'Dataset'],
      ['model', 'Model'],
    ]);
    expect(trainNode.outputs.map((p) => [p.name, p.type])).toEqual([['trained', 'TrainedModel']]);
    expect(trainNode.terminal).toBe(true);
  });
});
