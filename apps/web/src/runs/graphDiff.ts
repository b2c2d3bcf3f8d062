/**
 * What differed between the graphs of two or more runs: node parameters (matched by node id),
 * nodes present in only some runs, and changed wiring. Drives the "Parameters that differed" table.
 */
import type { PipelineGraph } from '@defectflow/nodes';

/** Marks a value that a run does not have (node or param absent), distinct from an explicit null. */
export const ABSENT = Symbol('absent');
export type DiffValue = unknown | typeof ABSENT;

export interface ParamDiffRow {
  nodeId: string;
  nodeType: string;
  /** Parameter name; '(node)' when the node itself is missing in some runs. */
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
      params.push({ nodeId, nodeType, field: '(node)', values: types });
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

/** Structural equality for JSON values (key order ignored). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') {
    return typeof a === 'number' && typeof b === 'number' && Number.isNaN(a) && Number.isNaN(b);
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => deepEqual(v, b[i]));
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!deepEqual(ao[k], bo[k])) return false;
  return true;
}

/** How a diff cell reads in the table. */
export function formatDiffValue(v: DiffValue): string {
  if (v === ABSENT) return '—';
  if (typeof v === 'string') return v;
  if (v === undefined) return 'undefined';
  return JSON.stringify(v);
}
