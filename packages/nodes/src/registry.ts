import { z } from 'zod';
import type { NodeCategory, NodeDefinition } from './definition.ts';
import { getNodeDefinition, nodeDefinitions } from './nodes/index.ts';
import type { PortSpec } from './ports.ts';

/** What the UI draws a node and its parameter form from: plain JSON, safe to send over tRPC. */
export interface SerializedNodeDefinition {
  type: string;
  title: string;
  category: NodeCategory;
  description: string;
  inputs: PortSpec[];
  outputs: PortSpec[];
  terminal: boolean;
  /**
   * JSON Schema (draft 2020-12) of the params, input side: every property has `default`,
   * `description` (help text) and `title`; numbers have minimum/maximum, choices have `enum`.
   * A property may carry `showWhen: { otherParam: [values…] }`: show it only when that param has one of those values.
   */
  params: Record<string, unknown>;
  /** The params an empty `{}` resolves to. */
  defaults: Record<string, unknown>;
}

export function serializeRegistry(definitions: readonly NodeDefinition[] = nodeDefinitions): SerializedNodeDefinition[] {
  return definitions.map((def) => ({
    type: def.type,
    title: def.title,
    category: def.category,
    description: def.description,
    inputs: def.inputs.map((p) => ({ ...p })),
    outputs: def.outputs.map((p) => ({ ...p })),
    terminal: def.terminal === true,
    params: z.toJSONSchema(def.params, { io: 'input' }) as Record<string, unknown>,
    defaults: def.params.parse({}) as Record<string, unknown>,
  }));
}

/** Full default params of a node type (what a freshly dropped node gets). Throws for an unknown type. */
export function defaultParams(type: string, definitions: readonly NodeDefinition[] = nodeDefinitions): Record<string, unknown> {
  const def = getNodeDefinition(type, definitions);
  if (!def) throw new Error(`Unknown node type "${type}". Known types: ${definitions.map((d) => d.type).join(', ')}.`);
  return def.params.parse({}) as Record<string, unknown>;
}

/**
 * A node's params with defaults filled in; undefined when they do not parse (validateGraph says why).
 * The executor and the cache key use this so `{}` and the spelled-out defaults are the same node.
 */
export function resolveParams(
  type: string,
  params: unknown,
  definitions: readonly NodeDefinition[] = nodeDefinitions,
): Record<string, unknown> | undefined {
  const result = getNodeDefinition(type, definitions)?.params.safeParse(params);
  return result?.success ? (result.data as Record<string, unknown>) : undefined;
}
