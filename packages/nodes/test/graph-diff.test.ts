import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/canonical-json.ts';
import { createDefaultPipeline } from '../src/default-pipeline.ts';
import { ABSENT, deepEqual, diffGraphPair, diffGraphs, formatDiffValue } from '../src/graph-diff.ts';

const base = {
  nodes: [
    { id: 'ds', type: 'dataset', params: { path: 'sample-steel', split: { val: 0.2, test: 0.2 } }, position: { x: 0, y: 0 } },
    { id: 'bb', type: 'backbone', params: { inputSize: 96 }, position: { x: 0, y: 0 } },
    { id: 'tr', type: 'train', params: { epochs: 3, learningRate: 0.001 }, position: { x: 0, y: 0 } },
  ],
  edges: [
    { id: 'e1', source: 'ds', sourceHandle: 'dataset', target: 'tr', targetHandle: 'dataset' },
    { id: 'e2', source: 'bb', sourceHandle: 'backbone', target: 'tr', targetHandle: 'model' },
  ],
};

function variant(mutate: (g: typeof base) => void): typeof base {
  const g = structuredClone(base);
  mutate(g);
  return g;
}

describe('graph param diff for compare', () => {
  it('finds no differences between identical graphs (positions and edge ids ignored)', () => {
    const moved = variant((g) => {
      for (const n of g.nodes) n.position = { x: 50, y: 9 };
      for (const e of g.edges) e.id = `x-${e.id}`;
    });
    expect(diffGraphs([base, moved])).toEqual({ params: [], edges: [] });
  });

  it('lists changed params with one value per run, nested objects compared structurally', () => {
    const b = variant((g) => {
      (g.nodes[2] as (typeof g.nodes)[number]).params.epochs = 5;
      (g.nodes[0] as (typeof g.nodes)[number]).params.split = { test: 0.2, val: 0.1 };
    });
    const c = variant((g) => {
      (g.nodes[0] as (typeof g.nodes)[number]).params.split = { test: 0.2, val: 0.2 }; // same as base, other key order
    });
    const diff = diffGraphs([base, b, c]);
    expect(diff.params).toEqual([
      { nodeId: 'ds', nodeType: 'dataset', field: 'split', values: [{ val: 0.2, test: 0.2 }, { test: 0.2, val: 0.1 }, { test: 0.2, val: 0.2 }] },
      { nodeId: 'tr', nodeType: 'train', field: 'epochs', values: [3, 5, 3] },
    ]);
  });

  it('marks a param set in only one run as absent in the others', () => {
    const b = variant((g) => {
      (g.nodes[2] as { params: Record<string, unknown> }).params.seed = 7;
    });
    const [row] = diffGraphs([base, b]).params;
    expect(row).toMatchObject({ nodeId: 'tr', field: 'seed' });
    expect(row?.values[0]).toBe(ABSENT);
    expect(row?.values[1]).toBe(7);
    expect(formatDiffValue(ABSENT)).toBe('—');
  });

  it('reports nodes present in only some runs, and changed wiring', () => {
    const b = variant((g) => {
      g.nodes.push({ id: 'au', type: 'augment', params: { flip: true } as never, position: { x: 0, y: 0 } });
      g.edges[0] = { id: 'e1', source: 'au', sourceHandle: 'dataset', target: 'tr', targetHandle: 'dataset' };
    });
    const diff = diffGraphs([base, b]);
    expect(diff.params).toEqual([{ nodeId: 'au', nodeType: 'augment', field: '(node)', values: [ABSENT, 'augment'] }]);
    expect(diff.edges).toEqual([
      { edge: 'ds.dataset → tr.dataset', present: [true, false] },
      { edge: 'au.dataset → tr.dataset', present: [false, true] },
    ]);
  });

  it('deepEqual treats key order as irrelevant and arrays as ordered', () => {
    expect(deepEqual({ a: 1, b: [1, 2] }, { b: [1, 2], a: 1 })).toBe(true);
    expect(deepEqual([1, 2], [2, 1])).toBe(false);
    expect(deepEqual(null, {})).toBe(false);
    expect(formatDiffValue({ a: 1 })).toBe('{"a":1}');
  });
});

describe('diffGraphPair (template versions)', () => {
  it('finds nothing between a graph and its reordered copy', () => {
    const g = createDefaultPipeline();
    const shuffled = { ...g, nodes: [...g.nodes].reverse(), edges: [...g.edges].reverse().map((e) => ({ ...e, id: `x-${e.id}` })) };
    expect(diffGraphPair(g, shuffled)).toEqual({ nodesAdded: [], nodesRemoved: [], paramsChanged: [], edgesAdded: [], edgesRemoved: [] });
  });

  it('reports params added or removed as null on the missing side, and a type change as remove + add', () => {
    const g = createDefaultPipeline();
    const changed = {
      ...g,
      nodes: g.nodes.map((n) =>
        n.id === 'head' ? { ...n, params: { ...n.params, extra: { a: [1, 2] } } } : n.id === 'augment' ? { ...n, type: 'dataset' } : n,
      ),
    };
    const d = diffGraphPair(g, changed);
    expect(d.paramsChanged).toEqual([{ nodeId: 'head', field: 'extra', from: null, to: { a: [1, 2] } }]);
    expect(d.nodesAdded.map((n) => n.id)).toEqual(['augment']);
    expect(d.nodesRemoved.map((n) => n.id)).toEqual(['augment']);
  });

  it('lists rewired edges as added and removed', () => {
    const g = createDefaultPipeline();
    const [first, ...rest] = g.edges;
    if (!first) throw new Error('the default pipeline has edges');
    const moved = { ...first, id: 'moved', targetHandle: `${first.targetHandle}-other` };
    const d = diffGraphPair(g, { ...g, edges: [...rest, moved] });
    expect(d.edgesRemoved).toEqual([first]);
    expect(d.edgesAdded).toEqual([moved]);
  });
});

describe('canonicalJson', () => {
  it('ignores key order, so equal params compare (and hash) equal', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
  });
});
