import { DEFAULT_AUGMENT_POLICY } from '@defectflow/engine/constants';
import { describe, expect, it } from 'vitest';
import { augmentNode } from './definition.ts';

describe('augment definition', () => {
  it("parses {} to the engine's default policy (one list of defaults, in @defectflow/engine/constants)", () => {
    expect(augmentNode.params.parse({})).toEqual(DEFAULT_AUGMENT_POLICY);
    expect(augmentNode.params.parse({})).toMatchObject({ copies: 1, noise: 0.02, blur: 0, seed: 42 });
  });

  it('enforces the ranges', () => {
    expect(augmentNode.params.safeParse({ noise: 0.3 }).success).toBe(false);
    expect(augmentNode.params.safeParse({ blur: 3 }).success).toBe(true);
    expect(augmentNode.params.safeParse({ copies: 11 }).success).toBe(false);
    expect(augmentNode.params.safeParse({ copies: 1.5 }).success).toBe(false);
  });

  it('maps Dataset to Dataset', () => {
    expect(augmentNode.inputs.map((p) => [p.name, p.type])).toEqual([['dataset', 'Dataset']]);
    expect(augmentNode.outputs.map((p) => [p.name, p.type])).toEqual([['dataset', 'Dataset']]);
  });
});
