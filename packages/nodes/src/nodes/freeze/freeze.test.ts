import { describe, expect, it } from 'vitest';
import { freezeNode } from './definition.ts';

describe('freeze definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(freezeNode.params.parse({})).toEqual({
      mode: 'all',
      upToBlock: 'block_10_expand_relu',
      headEpochs: 5,
      unfreezeBlocks: 2,
      fineTuneLrFactor: 0.1,
    });
  });

  it('enforces the ranges', () => {
    expect(freezeNode.params.safeParse({ mode: 'staged', unfreezeBlocks: 17 }).success).toBe(false);
    expect(freezeNode.params.safeParse({ fineTuneLrFactor: 0.0001 }).success).toBe(false);
    expect(freezeNode.params.safeParse({ mode: 'upTo', upToBlock: 'block_6_expand_relu' }).success).toBe(true);
  });

  it('maps Backbone to Backbone', () => {
    expect(freezeNode.inputs.map((p) => [p.name, p.type])).toEqual([['backbone', 'Backbone']]);
    expect(freezeNode.outputs.map((p) => [p.name, p.type])).toEqual([['backbone', 'Backbone']]);
  });
});
