import { describe, expect, it } from 'vitest';
import { headNode } from './definition.ts';

describe('head definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(headNode.params.parse({})).toEqual({ pooling: 'avg', hidden: 128, dropout: 0.2 });
  });

  it('enforces the ranges', () => {
    expect(headNode.params.safeParse({ hidden: 0 }).success).toBe(true);
    expect(headNode.params.safeParse({ hidden: 4096 }).success).toBe(false);
    expect(headNode.params.safeParse({ dropout: 0.95 }).success).toBe(false);
  });

  it('maps Backbone to Model', () => {
    expect(headNode.inputs.map((p) => [p.name, p.type])).toEqual([['backbone', 'Backbone']]);
    expect(headNode.outputs.map((p) => [p.name, p.type])).toEqual([['model', 'Model']]);
  });
});
