import type { NodeDefinition } from './definition.ts';
import { nodeDefinitions } from './nodes/index.ts';
import { type GraphErrorCode, nodeName } from './errors.ts';
import { canReach } from './graph-algorithms.ts';

/** The minimum the editor has at hand: React Flow nodes and edges fit this shape as they are. */
export interface ConnectableGraph {
  nodes: ReadonlyArray<{ id: string; type?: string; label?: string; data?: unknown }>;
  edges: ReadonlyArray<{
    id?: string;
    source: string;
    sourceHandle?: string | null;
    target: string;
    targetHandle?: string | null;
  }>;
}

export interface Connection {
  source: string;
  sourceHandle?: string | null;
  target: string;
  targetHandle?: string | null;
}

export type ConnectResult = { ok: true } | { ok: false; code: GraphErrorCode; message: string };

export interface CanConnectOptions {
  /** An edge being reconnected: it does not count as occupying its input or as part of a cycle. */
  ignoreEdgeId?: string;
  definitions?: readonly NodeDefinition[];
}

/**
 * Whether a new edge may be drawn, with the same rules validateGraph enforces, so the canvas
 * refuses exactly what the validator would flag (React Flow's isValidConnection calls this).
 */
export function canConnect(graph: ConnectableGraph, connection: Connection, options: CanConnectOptions = {}): ConnectResult {
  const definitions = options.definitions ?? nodeDefinitions;
  const edges = graph.edges.filter((e) => options.ignoreEdgeId === undefined || e.id !== options.ignoreEdgeId);
  const source = graph.nodes.find((n) => n.id === connection.source);
  const target = graph.nodes.find((n) => n.id === connection.target);
  if (!source || !target) {
    const missing = source ? connection.target : connection.source;
    return { ok: false, code: 'dangling_edge', message: `Node "${missing}" does not exist.` };
  }
  const sourceNamed = { id: source.id, type: nodeType(source, definitions), label: source.label };
  const targetNamed = { id: target.id, type: nodeType(target, definitions), label: target.label };
  if (source.id === target.id) {
    return { ok: false, code: 'self_loop', message: `${nodeName(sourceNamed)} cannot connect to itself.` };
  }
  const sourceDef = definitions.find((d) => d.type === sourceNamed.type);
  const targetDef = definitions.find((d) => d.type === targetNamed.type);
  for (const [node, def] of [
    [sourceNamed, sourceDef],
    [targetNamed, targetDef],
  ] as const) {
    if (!def) return { ok: false, code: 'unknown_node_type', message: `${nodeName(node)} has an unknown type.` };
  }
  const out = sourceDef?.outputs.find((p) => p.name === connection.sourceHandle);
  if (!out) {
    return {
      ok: false,
      code: 'unknown_port',
      message: `${nodeName(sourceNamed)} has no output "${connection.sourceHandle ?? ''}".`,
    };
  }
  const inp = targetDef?.inputs.find((p) => p.name === connection.targetHandle);
  if (!inp) {
    return {
      ok: false,
      code: 'unknown_port',
      message: `${nodeName(targetNamed)} has no input "${connection.targetHandle ?? ''}".`,
    };
  }
  if (out.type !== inp.type) {
    return {
      ok: false,
      code: 'port_type_mismatch',
      message: `${nodeName(targetNamed)} input "${inp.name}" takes ${inp.type}, not ${out.type}.`,
    };
  }
  if (edges.some((e) => e.target === target.id && e.targetHandle === inp.name)) {
    return {
      ok: false,
      code: 'multiple_edges_into_input',
      message: `${nodeName(targetNamed)} input "${inp.name}" is already connected.`,
    };
  }
  if (canReach(edges, target.id, source.id)) {
    return {
      ok: false,
      code: 'cycle',
      message: `Connecting ${nodeName(sourceNamed)} to ${nodeName(targetNamed)} would make a cycle.`,
    };
  }
  return { ok: true };
}

/** The node's definition type: `type`, or `data.type` when the canvas uses one generic React Flow node type. */
function nodeType(node: ConnectableGraph['nodes'][number], definitions: readonly NodeDefinition[]): string {
  if (node.type && definitions.some((d) => d.type === node.type)) return node.type;
  const dataType = (node.data as { type?: unknown } | undefined)?.type;
  return typeof dataType === 'string' ? dataType : (node.type ?? '?');
}
