/**
 * What differed between two or more pipeline graphs: node parameters (matched by node id), nodes present in
 * only some graphs (or with another type), and changed wiring. The run comparison's "Parameters that differed"
 * table reads the n-way form, template version diffs the two-graph lists (diffGraphPair). Browser-safe.
 */
import { canonicalJson } from './canonical-json.ts';
import type { GraphEdge, GraphNode, PipelineGraph } from './graph.ts';

/** Marks a value that a run does not have (node or param absent), distinct from an explicit null. */
export const ABSENT = Symbol('absent');
export type DiffValue = unknown | typeof ABSENT;

export interface ParamDiffRow {
  nodeId: string;
  nodeType: string;
  /** Parameter name; NODE_FIELD ('(node)') when the node itself is missing or of another type in some graphs. */
  field: string;
  /** One value per run, in the order the graphs were given. */
  values: DiffValue[];
}

export interface GraphDiff {
  params: ParamDiffRow[];
  /** Edge descriptions "source.handle → target.handle" not shared by every run, with who has them. */
  edges: { edge: string; present: boolean[] }[];
}

type GraphLike = Pick<PipelineGraph, 'nodes' | 'edges'>;

/** The field of a row that says a node is missing, or of another type, in some graphs. */
export const NODE_FIELD = '(node)';

export function diffGraphs(graphs: readonly GraphLike[]): GraphDiff {
  const params: ParamDiffRow[] = [];
  const nodeOrder: string[] = [];
  const byId = graphs.map((g) => new Map(g.nodes.map((n) => [n.id, n])));
  for (const g of graphs) for (const n of g.nodes) if (!nodeOrder.includes(n.id)) nodeOrder.push(n.id);

  for (const nodeId of nodeOrder) {
    const nodes = byId.map((m) => m.get(nodeId));
    const nodeType = nodes.find((n) => n)?.type ?? '?';
    const types = nodes.map((n) => n?.type ?? ABSENT);
    if (!allEqual(types)) {
      params.push({ nodeId, nodeType, field: NODE_FIELD, values: types });
      // A node missing or swapped for another type: its params are not comparable, this row says it all.
      continue;
    }
    const fields: string[] = [];
    for (const n of nodes) for (const k of Object.keys(n?.params ?? {})) if (!fields.includes(k)) fields.push(k);
    for (const field of fields) {
      const values = nodes.map((n) => (n && field in n.params ? n.params[field] : ABSENT));
      if (!allEqual(values)) params.push({ nodeId, nodeType, field, values });
    }
  }

  const edgeSets = graphs.map((g) => new Set(g.edges.map(edgeKey)));
  const allEdges: string[] = [];
  for (const g of graphs) for (const e of g.edges) if (!allEdges.includes(edgeKey(e))) allEdges.push(edgeKey(e));
  const edges = allEdges
    .map((edge) => ({ edge, present: edgeSets.map((s) => s.has(edge)) }))
    .filter((row) => row.present.some((p) => !p));

  return { params, edges };
}

function edgeKey(e: GraphLike['edges'][number]): string {
  return `${e.source}.${e.sourceHandle} → ${e.target}.${e.targetHandle}`;
}

function allEqual(values: readonly DiffValue[]): boolean {
  const first = values[0];
  return values.every((v) => deepEqual(v, first));
}

/** Equality of JSON values, key order ignored (canonicalJson); ABSENT equals only itself. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === ABSENT || b === ABSENT) return a === b;
  return canonicalJson(a) === canonicalJson(b);
}

/** How a diff cell reads in the table. */
export function formatDiffValue(v: DiffValue): string {
  if (v === ABSENT) return '—';
  if (typeof v === 'string') return v;
  if (v === undefined) return 'undefined';
  return JSON.stringify(v);
}

/** One changed param; a param absent on one side is null there (JSON has no undefined). */
export interface ParamChange {
  nodeId: string;
  field: string;
  from: unknown;
  to: unknown;
}

/** Two graphs (template versions): nodes and edges added or removed, params changed. */
export interface GraphPairDiff {
  nodesAdded: GraphNode[];
  nodesRemoved: GraphNode[];
  paramsChanged: ParamChange[];
  edgesAdded: GraphEdge[];
  edgesRemoved: GraphEdge[];
}

/**
 * The n-way diff of two graphs, as lists: a node whose type changed counts as removed and added; edges are the
 * same connection when they join the same ports, whatever their ids.
 */
export function diffGraphPair(from: GraphLike, to: GraphLike): GraphPairDiff {
  const { params, edges } = diffGraphs([from, to]);
  const replaced = new Set(params.filter((row) => row.field === NODE_FIELD).map((row) => row.nodeId));
  const present = (value: DiffValue) => (value === ABSENT ? null : value);
  const edgeRows = new Map(edges.map((row) => [row.edge, row.present]));
  return {
    nodesAdded: to.nodes.filter((n) => replaced.has(n.id)),
    nodesRemoved: from.nodes.filter((n) => replaced.has(n.id)),
    paramsChanged: params
      .filter((row) => row.field !== NODE_FIELD)
      .map((row) => ({ nodeId: row.nodeId, field: row.field, from: present(row.values[0]), to: present(row.values[1]) })),
    edgesAdded: to.edges.filter((e) => edgeRows.get(edgeKey(e))?.[0] === false),
    edgesRemoved: from.edges.filter((e) => edgeRows.get(edgeKey(e))?.[1] === false),
  };
}
