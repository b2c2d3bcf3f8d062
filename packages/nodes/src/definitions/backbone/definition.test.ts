import { describe, expect, it } from 'vitest';
import { backboneNode } from './definition.ts';

describe('backbone definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(backboneNode.params.parse({})).toEqual({
      source: 'mobilenet_v2',
      inputSize: 160,
      fit: 'stretch',
      maxTiles: 4,
      cutAt: 'block_13_expand_relu',
      modelPath: '',
      customLayer: '',
      seed: 42,
    });
  });

  it('needs a model folder for a custom backbone and bounds the input size', () => {
    expect(backboneNode.params.safeParse({ source: 'custom' }).success).toBe(false);
    expect(backboneNode.params.safeParse({ source: 'custom', modelPath: 'models/mine' }).success).toBe(true);
    expect(backboneNode.params.safeParse({ inputSize: 16 }).success).toBe(false);
    expect(backboneNode.params.safeParse({ cutAt: 'block_2' }).success).toBe(false);
    expect(backboneNode.params.safeParse({ fit: 'crop' }).success).toBe(false);
    expect(backboneNode.params.safeParse({ fit: 'tiles', maxTiles: 1 }).success).toBe(false);
  });

  it('is a source node with one Backbone output', () => {
    expect(backboneNode.inputs).toEqual([]);
    expect(backboneNode.outputs.map((p) => [p.name, p.type])).toEqual([['backbone', 'Backbone']]);
  });
});
