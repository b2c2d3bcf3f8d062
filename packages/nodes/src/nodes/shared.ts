import { DEFAULT_SEED } from '@defectflow/engine/constants';
import { z } from 'zod';
import type { NodeDefinition } from '../definition.ts';

/** Largest seed we accept: a 32-bit signed int keeps every RNG implementation happy. */
export const MAX_SEED = 2_147_483_647;

/** A seeded-randomness parameter; the same seed gives the same split/augmentation/initialisation. */
export function seedParam(what: string) {
  return z
    .int()
    .min(0)
    .max(MAX_SEED)
    .default(DEFAULT_SEED)
    .describe(`Random seed for ${what}. The same seed gives the same result on every run.`)
    .meta({ title: 'Seed' });
}

/**
 * Identity helper that keeps each definition's concrete params schema type and its literal `type`
 * (so `z.output<typeof x.params>` and the NodeType union work) while checking it against NodeDefinition.
 */
export function defineNode<const T extends string, S extends z.ZodObject>(def: NodeDefinition<S, T>): NodeDefinition<S, T> {
  return def;
}
