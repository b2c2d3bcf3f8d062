import { describe, expect, it } from 'vitest';
import { type GraphError, errorsByNode, validateGraph } from '../src/index.ts';
import { GraphBuilder, pipeline } from './helpers/graph-builder.ts';

const codes = (errors: GraphError[]) => [...new Set(errors.map((e) => e.code))].sort();
const find = (errors: GraphError[], code: string) => errors.filter((e) => e.code === code);

/** One graph with a bit of everything wrong, the way a hand-edited JSON file goes wrong. */
function badGraph() {
  const b = new GraphBuilder();
  b.node('dataset', { valRatio: 0.9 }, 'd1', 'Steel plates');
  b.node('dataset', {}, 'd1');
  b.node('dataset', { maxPerClass: -1, layout: 'zip', typo: 1 }, 'd2');
  b.node('augment', {}, 'a1');
  b.node('augment', {}, 'a2');
  b.node('resize', {}, 'r1');
  b.node('backbone', {}, 'bb');
  b.node('freeze', {}, 'fz');
  b.node('head', {}, 'h1');
  b.connect('d1', 'dataset', 'a1', 'dataset', 'e-ok');
  b.connect('d2', 'dataset', 'a1', 'dataset', 'e-second-into-a1');
  b.connect('a1', 'dataset', 'a2', 'dataset', 'e-a1-a2');
  b.connect('a2', 'dataset', 'a1', 'dataset', 'e-a2-a1');
  b.connect('bb', 'backbone', 'h1', 'nope', 'e-unknown-port');
  b.connect('bb', 'backbone', 'fz', 'backbone', 'e-a1-a2');
  b.connect('fz', 'backbone', 'fz', 'backbone', 'e-self');
  b.connect('ghost', 'dataset', 'a2', 'dataset', 'e-dangling');
  b.connect('bb', 'backbone', 'a2', 'dataset', 'e-mismatch');
  return b.build();
}

describe('validateGraph', () => {
  it('accepts the standard pipeline with empty params and returns the graph', () => {
    const result = validateGraph(pipeline());
    expect(result.errors).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.graph?.nodes).toHaveLength(8);
  });

  it('reports every problem of a bad graph at once', () => {
    const result = validateGraph(badGraph());
    expect(result.ok).toBe(false);
    expect(result.graph).toBeUndefined();
    expect(codes(result.errors)).toEqual([
      'cycle',
      'dangling_edge',
      'duplicate_edge_id',
      'duplicate_node_id',
      'multiple_edges_into_input',
      'no_terminal_node',
      'param_invalid',
      'port_type_mismatch',
      'required_input_missing',
      'self_loop',
      'unknown_node_type',
      'unknown_port',
    ]);
    for (const error of result.errors) expect(error.message.length).toBeGreaterThan(10);
  });

  it('names nodes, fields, ports and edges in each error', () => {
    const { errors } = validateGraph(badGraph());
    expect(find(errors, 'duplicate_node_id')).toEqual([expect.objectContaining({ nodeId: 'd1' })]);
    expect(find(errors, 'unknown_node_type')[0]).toMatchObject({ nodeId: 'r1' });
    expect(find(errors, 'unknown_node_type')[0]?.message).toContain('dataset, augment, backbone');

    const params = find(errors, 'param_invalid');
    const valRatio = params.find((e) => e.nodeId === 'd1' && e.field === 'valRatio');
    expect(valRatio?.message).toContain('"Steel plates"');
    // Sentences that say the rule, then the value (issue 20 item 10: was "is 0.9. Allowed: …").
    expect(valRatio?.message).toContain('"valRatio" must be at most 0.5 (it is 0.9).');
    expect(params.find((e) => e.field === 'maxPerClass')?.message).toContain('"maxPerClass" must be at least 0 (it is -1).');
    expect(params.find((e) => e.field === 'layout')?.message).toContain('must be one of "auto", "folders", "mvtec", "csv" (it is "zip")');
    expect(params.find((e) => e.field === 'typo')?.message).toContain('has no parameter "typo"');

    expect(find(errors, 'unknown_port')).toEqual([expect.objectContaining({ nodeId: 'h1', port: 'nope', edgeId: 'e-unknown-port' })]);
    expect(find(errors, 'port_type_mismatch')).toEqual([expect.objectContaining({ nodeId: 'a2', port: 'dataset', edgeId: 'e-mismatch' })]);
    expect(find(errors, 'port_type_mismatch')[0]?.message).toMatch(/takes Dataset.*brings Backbone/);
    expect(find(errors, 'multiple_edges_into_input').map((e) => e.edgeId).sort()).toEqual(['e-a2-a1', 'e-second-into-a1', 'e-mismatch'].sort());
    expect(find(errors, 'dangling_edge')).toEqual([expect.objectContaining({ edgeId: 'e-dangling', nodeId: 'a2' })]);
    expect(find(errors, 'dangling_edge')[0]?.message).toContain('"ghost"');
    expect(find(errors, 'self_loop')).toEqual([expect.objectContaining({ edgeId: 'e-self', nodeId: 'fz' })]);
    expect(find(errors, 'duplicate_edge_id')).toEqual([expect.objectContaining({ edgeId: 'e-a1-a2' })]);
    expect(find(errors, 'required_input_missing')).toEqual([expect.objectContaining({ nodeId: 'h1', port: 'backbone' })]);

    const [cycle] = find(errors, 'cycle');
    expect(cycle?.nodeIds?.slice().sort()).toEqual(['a1', 'a2']);
    expect(cycle?.message).toMatch(/augment node "a1" → augment node "a2" → augment node "a1"/);
  });

  it('lists a longer cycle in edge order', () => {
    const b = new GraphBuilder();
    b.node('augment', {}, 'x');
    b.node('augment', {}, 'y');
    b.node('augment', {}, 'z');
    b.node('train', {}, 't');
    b.connect('x', 'dataset', 'y', 'dataset');
    b.connect('y', 'dataset', 'z', 'dataset');
    b.connect('z', 'dataset', 'x', 'dataset');
    const [cycle] = validateGraph(b.build()).errors.filter((e) => e.code === 'cycle');
    expect(cycle?.nodeIds).toEqual(['x', 'y', 'z']);
  });

  it('reports cross-field param rules on the right field', () => {
    const errors = validateGraph(
      pipeline({ backbone: { source: 'custom' }, dataset: { valRatio: 0.5, testRatio: 0.5 }, deploy: { name: 'bad/name' } }),
    ).errors;
    expect(errors).toContainEqual(expect.objectContaining({ code: 'param_invalid', nodeId: 'backbone', field: 'modelPath' }));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'param_invalid', nodeId: 'dataset', field: 'testRatio' }));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'param_invalid', nodeId: 'deploy', field: 'name' }));
    expect(errors.every((e) => e.code === 'param_invalid')).toBe(true);
  });

  it('rejects dataset paths that leave the datasets folder', () => {
    for (const path of ['/etc', '../secrets', 'a/../../b', 'C:\\data']) {
      const errors = validateGraph(pipeline({ dataset: { path } })).errors;
      expect(errors, path).toEqual([expect.objectContaining({ code: 'param_invalid', field: 'path' })]);
    }
    expect(validateGraph(pipeline({ dataset: { path: 'uploads/line-3' } })).ok).toBe(true);
  });

  it('flags an empty graph and a graph without a terminal node', () => {
    expect(validateGraph({ version: 1, nodes: [], edges: [] }).errors).toEqual([expect.objectContaining({ code: 'empty_graph' })]);
    const b = new GraphBuilder();
    const d = b.node('dataset');
    const a = b.node('augment');
    b.connect(d, 'dataset', a, 'dataset');
    expect(validateGraph(b.build()).errors).toEqual([expect.objectContaining({ code: 'no_terminal_node' })]);
  });

  it('reports shape and version problems as invalid_graph with the zod path', () => {
    expect(validateGraph(null).errors).toEqual([expect.objectContaining({ code: 'invalid_graph' })]);
    expect(validateGraph({ version: 2, nodes: [] }).errors).toEqual([
      expect.objectContaining({ code: 'invalid_graph', field: 'version', message: expect.stringContaining('version 2') }),
    ]);
    const errors = validateGraph({ version: 1, nodes: [{ id: 'n1', type: 'dataset', params: 'x' }, { type: 'head' }] }).errors;
    expect(errors).toContainEqual(expect.objectContaining({ code: 'invalid_graph', field: 'nodes.0.params', nodeId: 'n1' }));
    expect(errors).toContainEqual(expect.objectContaining({ code: 'invalid_graph', field: 'nodes.1.id' }));
  });

  it('errorsByNode groups errors per node, listing a cycle under each node on it', () => {
    const map = errorsByNode(validateGraph(badGraph()).errors);
    expect(map.a1?.map((e) => e.code)).toContain('cycle');
    expect(map.a2?.map((e) => e.code)).toContain('cycle');
    expect(map.h1?.map((e) => e.code).sort()).toEqual(['required_input_missing', 'unknown_port']);
    expect(map.bb).toBeUndefined();
  });
});

describe('param messages read like sentences', () => {
  const messageFor = (params: Record<string, unknown>, field: string) =>
    validateGraph({
      version: 1,
      nodes: [{ id: 'train', type: 'train', params, position: { x: 0, y: 0 } }],
      edges: [],
    }).errors.find((e) => e.field === field)?.message;

  it('a missing value is required, a wrong type says what it must be, a fraction is not a whole number', () => {
    expect(messageFor({ epochs: null }, 'epochs')).toMatch(/"epochs" is required \(an integer from 1 to \d+\)\.$/);
    expect(messageFor({ epochs: 'ten' }, 'epochs')).toMatch(/"epochs" must be a number \(an integer from 1 to \d+\), not "ten"\.$/);
    expect(messageFor({ epochs: 2.5 }, 'epochs')).toMatch(/"epochs" must be a whole number \(it is 2\.5\)\.$/);
    expect(messageFor({ batchSize: 1000 }, 'batchSize')).toMatch(/"batchSize" must be at most \d+ \(it is 1000\)\.$/);
    for (const m of [messageFor({ epochs: null }, 'epochs'), messageFor({ batchSize: 1000 }, 'batchSize')]) {
      expect(m).not.toMatch(/Allowed:|got null/);
    }
  });
});
