import { describe, expect, it } from 'vitest';
import { GRAPH_LIMITS, PipelineGraphSchema, SAFE_ID_PATTERN, parseGraphJson, validateGraph } from '../src/index.ts';
import { pipeline } from './helpers/graph-builder.ts';

/** The standard pipeline with the deploy node renamed (edges follow), the way a hostile graph file would do it. */
function withDeployId(id: string) {
  const graph = pipeline();
  for (const n of graph.nodes) if (n.id === 'deploy') n.id = id;
  for (const e of graph.edges) if (e.target === 'deploy') e.target = id;
  return graph;
}

describe('node and edge ids are plain names (they become file names and URLs)', () => {
  const bad = ['x/../../..', '..', 'a b', 'a'.repeat(65), '', 'x\\..\\y', 'a.json', 'nul\0'];

  it.each(bad)('refuses node id %j with code invalid_id naming the id', (id) => {
    const result = validateGraph(withDeployId(id));
    expect(result.ok).toBe(false);
    const error = result.errors.find((e) => e.field === 'nodes.7.id');
    expect(error?.code).toBe('invalid_id');
    expect(error?.message).toContain(JSON.stringify(id));
    // The same text through the file reader (CLI, editor import).
    const parsed = parseGraphJson(JSON.stringify(withDeployId(id)));
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.errors.map((e) => e.code)).toContain('invalid_id');
  });

  it('accepts 64-character ids of letters, digits, _ and -', () => {
    const id = `Deploy_1-${'z'.repeat(55)}`;
    expect(id).toHaveLength(64);
    expect(validateGraph(withDeployId(id)).errors).toEqual([]);
  });

  it('refuses unsafe edge ids and edge ends, naming the edge', () => {
    const graph = pipeline();
    graph.edges[0]!.id = '../e';
    graph.edges[1]!.source = 'a/b';
    const result = validateGraph(graph);
    const errors = result.errors.filter((e) => e.code === 'invalid_id');
    expect(errors.map((e) => e.field)).toEqual(['edges.0.id', 'edges.1.source']);
    expect(errors[0]?.edgeId).toBe('../e');
    expect(errors[1]?.message).toContain('"a/b"');
  });

  it('the schema used as tRPC input refuses them too', () => {
    expect(PipelineGraphSchema.safeParse(withDeployId('x/../../../../tmp')).success).toBe(false);
    expect(SAFE_ID_PATTERN.test('deploy-2')).toBe(true);
  });
});

describe('graph size limits', () => {
  it('refuses more nodes than the limit with graph_too_large and the count', () => {
    const graph = pipeline();
    const extra = GRAPH_LIMITS.nodes + 1 - graph.nodes.length;
    for (let k = 0; k < extra; k++) graph.nodes.push({ id: `n${k}`, type: 'augment', params: {}, position: { x: 0, y: 0 } });
    const result = validateGraph(graph);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toMatchObject({ code: 'graph_too_large', field: 'nodes' });
    expect(result.errors[0]?.message).toContain(`${GRAPH_LIMITS.nodes + 1} nodes`);
  });

  it('refuses more edges than the limit', () => {
    const graph = pipeline();
    const edge = graph.edges[0]!;
    for (let k = 0; k <= GRAPH_LIMITS.edges; k++) graph.edges.push({ ...edge, id: `x${k}` });
    expect(validateGraph(graph).errors[0]).toMatchObject({ code: 'graph_too_large', field: 'edges' });
  });

  it('refuses an over-long param string anywhere in params, naming the node and field', () => {
    const graph = pipeline({ dataset: { path: 'p'.repeat(GRAPH_LIMITS.paramStringLength + 1) } });
    graph.nodes[1]!.params = { nested: { deep: ['ok', 'q'.repeat(GRAPH_LIMITS.paramStringLength + 1)] } };
    const errors = validateGraph(graph).errors;
    expect(errors.map((e) => [e.code, e.nodeId, e.field])).toEqual([
      ['graph_too_large', 'dataset', 'nodes.0.params.path'],
      ['graph_too_large', 'augment', 'nodes.1.params.nested.deep.1'],
    ]);
    expect(errors[0]?.message).toContain(`longer than ${GRAPH_LIMITS.paramStringLength}`);
  });

  it('refuses an over-long label', () => {
    const graph = pipeline();
    graph.nodes[0]!.label = 'L'.repeat(GRAPH_LIMITS.labelLength + 1);
    expect(validateGraph(graph).errors[0]).toMatchObject({ code: 'graph_too_large', nodeId: 'dataset', field: 'nodes.0.label' });
  });
});
