import type { z } from 'zod';
import type { NodeDefinition } from '../definition.ts';
import { augmentNode } from './augment/definition.ts';
import { backboneNode } from './backbone/definition.ts';
import { datasetNode } from './dataset/definition.ts';
import { deployNode } from './deploy/definition.ts';
import { evaluateNode } from './evaluate/definition.ts';
import { freezeNode } from './freeze/definition.ts';
import { headNode } from './head/definition.ts';
import { trainNode } from './train/definition.ts';

export * from './augment/definition.ts';
export * from './backbone/definition.ts';
export * from './dataset/definition.ts';
export * from './deploy/definition.ts';
export * from './deploy/result.ts';
export * from './evaluate/definition.ts';
export * from './freeze/definition.ts';
export * from './head/definition.ts';
export * from './train/definition.ts';
export { MAX_SEED } from './shared.ts';

/**
 * The node types in palette order (the pipeline reads left to right): the one list every other list
 * of node types derives from. The runtime's run functions must cover exactly these (a compile error otherwise).
 */
export const nodeDefinitions = [
  datasetNode,
  augmentNode,
  backboneNode,
  freezeNode,
  headNode,
  trainNode,
  evaluateNode,
  deployNode,
] as const satisfies readonly NodeDefinition[];

/** A node definition of this catalogue, with its literal type and concrete params schema. */
export type KnownNodeDefinition = (typeof nodeDefinitions)[number];
export type NodeType = KnownNodeDefinition['type'];
export const NODE_TYPES: readonly NodeType[] = nodeDefinitions.map((d) => d.type);
/** The params a node type's run function gets: its schema's output, every default filled in. */
export type NodeParams<T extends NodeType> = z.output<Extract<KnownNodeDefinition, { type: T }>['params']>;

/** Definition of a node type, or undefined for a type this build does not know. */
export function getNodeDefinition(
  type: string,
  definitions: readonly NodeDefinition[] = nodeDefinitions,
): NodeDefinition | undefined {
  return definitions.find((d) => d.type === type);
}
