/** Structural difference between two pipeline graphs (template versions, run comparison). */
import type { GraphEdge, GraphNode, PipelineGraph } from '@defectflow/nodes';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** One changed param; a param absent on one side is null there (JSON has no undefined). */
export interface ParamChange {
  nodeId: string;
  field: string;
  from: JsonValue;
  to: JsonValue;
}

export interface GraphDiff {
  nodesAdded: GraphNode[];
  nodesRemoved: GraphNode[];
  paramsChanged: ParamChange[];
  edgesAdded: GraphEdge[];
  edgesRemoved: GraphEdge[];
}

/** JSON with sorted object keys, so {a,b} and {b,a} compare equal. */
export function stableStringify(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
}

/** Edges are the same connection when they join the same ports, whatever their ids. */
function edgeKey(e: GraphEdge): string {
  return `${e.source}\u0000${e.sourceHandle}\u0000${e.target}\u0000${e.targetHandle}`;
}

/** Params that differ between two versions of one node; a changed node type counts as remove + add. */
export function diffParams(nodeId: string, from: Record<string, unknown>, to: Record<string, unknown>): ParamChange[] {
  const fields = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
  return fields
    .filter((field) => stableStringify(from[field]) !== stableStringify(to[field]))
    .map((field) => ({ nodeId, field, from: (from[field] ?? null) as JsonValue, to: (to[field] ?? null) as JsonValue }));
}

export function diffGraphs(from: PipelineGraph, to: PipelineGraph): GraphDiff {
  const before = new Map(from.nodes.map((n) => [n.id, n]));
  const after = new Map(to.nodes.map((n) => [n.id, n]));
  const nodesAdded: GraphNode[] = [];
  const nodesRemoved: GraphNode[] = [];
  const paramsChanged: ParamChange[] = [];
  for (const node of to.nodes) {
    const old = before.get(node.id);
    if (!old || old.type !== node.type) nodesAdded.push(node);
    else paramsChanged.push(...diffParams(node.id, old.params, node.params));
  }
  for (const node of from.nodes) {
    const next = after.get(node.id);
    if (!next || next.type !== node.type) nodesRemoved.push(node);
  }
  const edgesBefore = new Set(from.edges.map(edgeKey));
  const edgesAfter = new Set(to.edges.map(edgeKey));
  return {
    nodesAdded,
    nodesRemoved,
    paramsChanged,
    edgesAdded: to.edges.filter((e) => !edgesBefore.has(edgeKey(e))),
    edgesRemoved: from.edges.filter((e) => !edgesAfter.has(edgeKey(e))),
  };
}
