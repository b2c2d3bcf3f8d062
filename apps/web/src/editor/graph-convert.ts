import type { GraphEdge, GraphNode, PipelineGraph } from '@defectflow/nodes';
import type { PipelineEdge, PipelineNode } from './types.ts';

/** Canvas → PipelineGraph v1: exactly the format the CLI runs (positions rounded, no UI-only fields). */
export function toPipelineGraph(nodes: readonly PipelineNode[], edges: readonly PipelineEdge[]): PipelineGraph {
  return {
    version: 1,
    nodes: nodes.map((n): GraphNode => {
      const out: GraphNode = {
        id: n.id,
        type: n.data.nodeType,
        params: n.data.params,
        position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
      };
      if (n.data.label) out.label = n.data.label;
      return out;
    }),
    edges: edges.map(
      (e): GraphEdge => ({
        id: e.id,
        source: e.source,
        sourceHandle: e.sourceHandle ?? '',
        target: e.target,
        targetHandle: e.targetHandle ?? '',
      }),
    ),
  };
}

/** PipelineGraph v1 → canvas nodes and edges. */
export function fromPipelineGraph(graph: PipelineGraph): { nodes: PipelineNode[]; edges: PipelineEdge[] } {
  return {
    nodes: graph.nodes.map((n) => toCanvasNode(n)),
    edges: graph.edges.map((e) => toCanvasEdge(e)),
  };
}

export function toCanvasNode(n: GraphNode): PipelineNode {
  const data: PipelineNode['data'] = { nodeType: n.type, params: { ...n.params } };
  if (n.label) data.label = n.label;
  return { id: n.id, type: 'pipeline', position: { ...n.position }, data };
}

export function toCanvasEdge(e: GraphEdge): PipelineEdge {
  return {
    id: e.id,
    source: e.source,
    sourceHandle: e.sourceHandle,
    target: e.target,
    targetHandle: e.targetHandle,
  };
}

/**
 * Smallest `${prefix}-${n}` not already taken: ids stay short and readable in exported JSON. The prefix is
 * cut down to SAFE_ID_PATTERN's alphabet, so a node of an odd imported type still gets an id the schema takes.
 */
export function freshId(prefix: string, taken: ReadonlySet<string>): string {
  const safe = prefix.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 40) || 'node';
  for (let n = 1; ; n++) {
    const id = `${safe}-${n}`;
    if (!taken.has(id)) return id;
  }
}
