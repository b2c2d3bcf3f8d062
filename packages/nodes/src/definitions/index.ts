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
export * from './evaluate/definition.ts';
export * from './freeze/definition.ts';
export * from './head/definition.ts';
export * from './train/definition.ts';
export { MAX_SEED } from './shared.ts';

/** The 8 node types in palette order (the pipeline reads left to right). */
export const nodeDefinitions: readonly NodeDefinition[] = [
  datasetNode,
  augmentNode,
  backboneNode,
  freezeNode,
  headNode,
  trainNode,
  evaluateNode,
  deployNode,
];

export const NODE_TYPES = ['dataset', 'augment', 'backbone', 'freeze', 'head', 'train', 'evaluate', 'deploy'] as const;
export type NodeType = (typeof NODE_TYPES)[number];

/** Definition of a node type, or undefined for a type this build does not know. */
export function getNodeDefinition(
  type: string,
  definitions: readonly NodeDefinition[] = nodeDefinitions,
): NodeDefinition | undefined {
  return definitions.find((d) => d.type === type);
}
