import { describe, expect, it } from 'vitest';
import { canConnect, validateGraph } from '../src/index.ts';
import { GraphBuilder, pipeline } from './helpers/graph-builder.ts';

describe('canConnect', () => {
  const graph = pipeline();

  it('allows a matching edge into a free input', () => {
    const b = new GraphBuilder();
    const d = b.node('dataset');
    const a = b.node('augment');
    expect(canConnect(b.build(), { source: d, sourceHandle: 'dataset', target: a, targetHandle: 'dataset' })).toEqual({ ok: true });
  });

  it('refuses mismatched port types', () => {
    const result = canConnect(graph, { source: 'backbone', sourceHandle: 'backbone', target: 'evaluate', targetHandle: 'dataset' });
    expect(result).toMatchObject({ ok: false, code: 'port_type_mismatch' });
    if (!result.ok) expect(result.message).toContain('takes Dataset, not Backbone');
  });

  it('refuses a second edge into an input, unless it replaces the edge being reconnected', () => {
    const connection = { source: 'dataset', sourceHandle: 'dataset', target: 'train', targetHandle: 'dataset' };
    expect(canConnect(graph, connection)).toMatchObject({ ok: false, code: 'multiple_edges_into_input' });
    const existing = graph.edges.find((e) => e.target === 'train' && e.targetHandle === 'dataset');
    expect(canConnect(graph, connection, { ignoreEdgeId: existing?.id })).toEqual({ ok: true });
  });

  it('refuses cycles and self-loops', () => {
    const b = new GraphBuilder();
    const a1 = b.node('augment');
    const a2 = b.node('augment');
    const a3 = b.node('augment');
    b.connect(a1, 'dataset', a2, 'dataset');
    b.connect(a2, 'dataset', a3, 'dataset');
    const g = b.build();
    expect(canConnect(g, { source: a3, sourceHandle: 'dataset', target: a1, targetHandle: 'dataset' })).toMatchObject({
      ok: false,
      code: 'cycle',
    });
    expect(canConnect(g, { source: a1, sourceHandle: 'dataset', target: a1, targetHandle: 'dataset' })).toMatchObject({
      ok: false,
      code: 'self_loop',
    });
  });

  it('refuses unknown handles (including React Flow null handles) and unknown nodes', () => {
    expect(canConnect(graph, { source: 'dataset', sourceHandle: 'images', target: 'augment', targetHandle: 'dataset' })).toMatchObject({
      ok: false,
      code: 'unknown_port',
    });
    expect(canConnect(graph, { source: 'head', sourceHandle: 'model', target: 'deploy', targetHandle: null })).toMatchObject({
      ok: false,
      code: 'unknown_port',
    });
    expect(canConnect(graph, { source: 'ghost', sourceHandle: 'dataset', target: 'augment', targetHandle: 'dataset' })).toMatchObject({
      ok: false,
      code: 'dangling_edge',
    });
  });

  it('reads the node type from data.type when the canvas uses one generic node type', () => {
    const canvas = {
      nodes: [
        { id: 'a', type: 'pipeline', data: { type: 'dataset' } },
        { id: 'b', type: 'pipeline', data: { type: 'augment' } },
      ],
      edges: [],
    };
    expect(canConnect(canvas, { source: 'a', sourceHandle: 'dataset', target: 'b', targetHandle: 'dataset' })).toEqual({ ok: true });
    expect(canConnect(canvas, { source: 'b', sourceHandle: 'dataset', target: 'a', targetHandle: 'dataset' })).toMatchObject({
      ok: false,
      code: 'unknown_port',
    });
  });

  it('agrees with validateGraph: an accepted edge adds no wiring error', () => {
    const b = new GraphBuilder();
    const d = b.node('dataset', {}, 'd');
    const t = b.node('train', {}, 't');
    const bb = b.node('backbone', {}, 'bb');
    const h = b.node('head', {}, 'h');
    const g = b.build();
    const candidates = [
      { source: d, sourceHandle: 'dataset', target: t, targetHandle: 'dataset' },
      { source: bb, sourceHandle: 'backbone', target: h, targetHandle: 'backbone' },
      { source: h, sourceHandle: 'model', target: t, targetHandle: 'model' },
      { source: bb, sourceHandle: 'backbone', target: t, targetHandle: 'model' },
      { source: d, sourceHandle: 'dataset', target: t, targetHandle: 'dataset' },
    ];
    for (const c of candidates) {
      const verdict = canConnect(g, c);
      const next = { ...g, edges: [...g.edges, { id: `e${g.edges.length}`, ...c }] };
      const wiringErrors = validateGraph(next).errors.filter((e) => e.edgeId === `e${g.edges.length}`);
      expect(verdict.ok, JSON.stringify(c)).toBe(wiringErrors.length === 0);
      if (verdict.ok) g.edges = next.edges;
    }
    expect(validateGraph(g).ok).toBe(true);
  });
});
