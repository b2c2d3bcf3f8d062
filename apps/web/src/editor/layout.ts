import { Graph, layout } from '@dagrejs/dagre';
import type { PipelineEdge, PipelineNode } from './types.ts';

/** Size used for nodes React Flow has not measured yet (e.g. in tests or right after an import). */
const FALLBACK_SIZE = { width: 216, height: 110 };

/** Left-to-right layered layout (dagre). Returns new positions by node id (top-left corners, as React Flow wants). */
export function layoutLeftToRight(
  nodes: readonly PipelineNode[],
  edges: readonly PipelineEdge[],
): Map<string, { x: number; y: number }> {
  const g = new Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 36, ranksep: 56, marginx: 20, marginy: 20 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of nodes) {
    g.setNode(n.id, {
      width: n.measured?.width ?? FALLBACK_SIZE.width,
      height: n.measured?.height ?? FALLBACK_SIZE.height,
    });
  }
  for (const e of edges) g.setEdge(e.source, e.target);
  layout(g);
  const out = new Map<string, { x: number; y: number }>();
  for (const n of nodes) {
    const p = g.node(n.id);
    if (!p) continue;
    // dagre gives centres; React Flow positions are top-left.
    out.set(n.id, { x: Math.round(p.x - p.width / 2), y: Math.round(p.y - p.height / 2) });
  }
  // dagre pulls a source next to its first consumer; inputs read better lined up in the first column.
  const hasInput = new Set(edges.map((e) => e.target));
  const left = Math.min(...[...out.values()].map((p) => p.x));
  for (const n of nodes) {
    const p = out.get(n.id);
    if (p && !hasInput.has(n.id)) p.x = left;
  }
  return out;
}
