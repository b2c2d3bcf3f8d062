import { describe, expect, it } from 'vitest';
import { deployNode } from './definition.ts';

describe('deploy definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(deployNode.params.parse({})).toEqual({
      name: 'defect-model',
      gateMetric: 'none',
      gateMin: 0.9,
      gateBaseline: false,
      baselineMargin: 0.05,
    });
  });

  it('restricts the model name to 1-64 safe characters', () => {
    expect(deployNode.params.safeParse({ name: 'Line 3 scratches_v2.1' }).success).toBe(true);
    expect(deployNode.params.safeParse({ name: '' }).success).toBe(false);
    expect(deployNode.params.safeParse({ name: 'x'.repeat(65) }).success).toBe(false);
    expect(deployNode.params.safeParse({ name: '../evil' }).success).toBe(false);
    expect(deployNode.params.safeParse({ gateMin: 1.5 }).success).toBe(false);
  });

  it('takes TrainedModel + an optional Metrics gate, gives Deployment, and may end a pipeline', () => {
    expect(deployNode.inputs).toEqual([
      { name: 'trained', type: 'TrainedModel', label: 'Trained model' },
      { name: 'metrics', type: 'Metrics', label: 'Metrics (gate)', optional: true },
    ]);
    expect(deployNode.outputs.map((p) => [p.name, p.type])).toEqual([['deployment', 'Deployment']]);
    expect(deployNode.terminal).toBe(true);
  });
});
