import { describe, expect, it } from 'vitest';
import { headNode } from './definition.ts';

describe('head definition', () => {
  it('parses {} to the agreed defaults', () => {
    // Chosen by measurement (docs/BENCHMARKS.md §8): a spatial head with max pooling.
    expect(headNode.params.parse({})).toEqual({ kind: 'spatial', filters: 128, pooling: 'max', hidden: 128, dropout: 0.2 });
  });

  it('offers both kinds, and shows each kind only its own fields', () => {
    expect(headNode.params.safeParse({ kind: 'dense', pooling: 'avg' }).success).toBe(true);
    expect(headNode.params.safeParse({ kind: 'conv' }).success).toBe(false);
    expect(headNode.params.safeParse({ filters: 2 }).success).toBe(false);
    const meta = (key: 'filters' | 'hidden') => headNode.params.shape[key].meta() as { showWhen?: Record<string, string[]> };
    expect(meta('filters').showWhen).toEqual({ kind: ['spatial'] });
    expect(meta('hidden').showWhen).toEqual({ kind: ['dense'] });
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
