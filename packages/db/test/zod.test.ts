import { describe, expect, it } from 'vitest';
import { datasetInputSchema, productLineInputSchema, runStatusSchema } from '../src/index.ts';

describe('zod schemas derived from the tables', () => {
  it('accept valid input and name the bad field', () => {
    expect(productLineInputSchema.parse({ name: '  Castings ' })).toEqual({ name: 'Castings' });
    const bad = productLineInputSchema.safeParse({ name: '   ' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['name']);
    expect(datasetInputSchema.safeParse({ name: 'steel', path: '' }).error?.issues[0]?.path).toEqual(['path']);
    expect(runStatusSchema.options).toContain('interrupted');
  });
});
