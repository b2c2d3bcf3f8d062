import { createDefaultPipeline } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import { diffGraphs, stableStringify } from '../server/graph-diff.ts';

describe('diffGraphs', () => {
  it('finds nothing between a graph and its reordered copy', () => {
    const g = createDefaultPipeline();
    const shuffled = { ...g, nodes: [...g.nodes].reverse(), edges: [...g.edges].reverse().map((e) => ({ ...e, id: `x-${e.id}` })) };
    expect(diffGraphs(g, shuffled)).toEqual({ nodesAdded: [], nodesRemoved: [], paramsChanged: [], edgesAdded: [], edgesRemoved: [] });
  });

  it('reports params added or removed as null on the missing side, and a type change as remove + add', () => {
    const g = createDefaultPipeline();
    const changed = {
      ...g,
      nodes: g.nodes.map((n) =>
        n.id === 'head' ? { ...n, params: { ...n.params, extra: { a: [1, 2] } } } : n.id === 'augment' ? { ...n, type: 'dataset' } : n,
      ),
    };
    const d = diffGraphs(g, changed);
    expect(d.paramsChanged).toEqual([{ nodeId: 'head', field: 'extra', from: null, to: { a: [1, 2] } }]);
    expect(d.nodesAdded.map((n) => n.id)).toEqual(['augment']);
    expect(d.nodesRemoved.map((n) => n.id)).toEqual(['augment']);
  });

  it('stableStringify ignores key order', () => {
    expect(stableStringify({ b: 1, a: { d: 2, c: 3 } })).toBe(stableStringify({ a: { c: 3, d: 2 }, b: 1 }));
  });
});
