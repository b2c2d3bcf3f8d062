import { describe, expect, it } from 'vitest';
import { evaluateNode } from './definition.ts';

describe('evaluate definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(evaluateNode.params.parse({})).toEqual({
      split: 'test',
      goodClass: '',
      operatingMode: 'argmax',
      targetRecall: 0.99,
      maxFalseAlarm: 0.05,
    });
  });

  it('offers the operating-point modes and keeps targets in range', () => {
    expect(evaluateNode.params.safeParse({ operatingMode: 'defect-recall', targetRecall: 0.995 }).success).toBe(true);
    expect(evaluateNode.params.safeParse({ operatingMode: 'youden' }).success).toBe(false);
    expect(evaluateNode.params.safeParse({ targetRecall: 1.2 }).success).toBe(false);
    expect(evaluateNode.params.safeParse({ maxFalseAlarm: -0.1 }).success).toBe(false);
  });

  it('accepts only held-out splits', () => {
    expect(evaluateNode.params.safeParse({ split: 'val' }).success).toBe(true);
    expect(evaluateNode.params.safeParse({ split: 'train' }).success).toBe(false);
  });

  it('takes TrainedModel + Dataset, gives Metrics, and may end a pipeline', () => {
    expect(evaluateNode.inputs.map((p) => [p.name, p.type])).toEqual([
      ['trained', 'TrainedModel'],
      ['dataset', 'Dataset'],
    ]);
    expect(evaluateNode.outputs.map((p) => [p.name, p.type])).toEqual([['metrics', 'Metrics']]);
    expect(evaluateNode.terminal).toBe(true);
  });
});
