import type { NodeRunFn } from './types.ts';

/** type → run function. Placeholder until the engine-backed run functions land (packages/nodes/src/runtime/run/). */
export const nodeRunFunctions: Record<string, NodeRunFn> = {};
