import type { z } from 'zod';
import type { PortSpec } from './ports.ts';

export const NODE_CATEGORIES = ['Data', 'Model', 'Training', 'Output'] as const;
export type NodeCategory = (typeof NODE_CATEGORIES)[number];

/**
 * A node type: one folder, one definition object (browser-safe — no TensorFlow).
 * The run function lives in the Node-only runtime registry under the same `type`.
 */
export interface NodeDefinition<P extends z.ZodType = z.ZodType, T extends string = string> {
  type: T;
  title: string;
  category: NodeCategory;
  description: string;
  inputs: PortSpec[];
  outputs: PortSpec[];
  /** zod object schema with defaults, ranges (.min/.max), enums and `.describe()` help text. */
  params: P;
  /** A node with no outgoing edges that is allowed to end a pipeline (evaluate, deploy, train). */
  terminal?: boolean;
}
