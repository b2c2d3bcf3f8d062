import { describe, expect, it } from 'vitest';
import { ABSENT, deepEqual, diffGraphs, formatDiffValue } from '../src/runs/graphDiff.ts';

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
