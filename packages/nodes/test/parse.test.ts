import { describe, expect, it } from 'vitest';
import { parseGraphJson } from '../src/index.ts';
import { pipeline } from './helpers/graph-builder.ts';

describe('parseGraphJson', () => {
  it('reads a valid graph file and fills shape defaults', () => {
    const text = JSON.stringify({ version: 1, nodes: [{ id: 'd', type: 'dataset' }] });
    const result = parseGraphJson(text);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.graph).toEqual({ version: 1, nodes: [{ id: 'd', type: 'dataset', params: {}, position: { x: 0, y: 0 } }], edges: [] });
  });

  it('round-trips the standard pipeline', () => {
    const graph = pipeline();
    const result = parseGraphJson(JSON.stringify(graph));
    expect(result).toEqual({ ok: true, graph, errors: [] });
  });

  it('answers malformed JSON with an invalid_json error instead of throwing', () => {
    for (const text of ['{"version": 1, "nodes": [', '', 'not json', '{"version":1,}']) {
      const result = parseGraphJson(text);
      expect(result.ok, text).toBe(false);
      if (!result.ok) {
        expect(result.error.code).toBe('invalid_json');
        expect(result.error.message).toMatch(/^The graph is not valid JSON: /);
        expect(result.errors).toEqual([result.error]);
      }
    }
  });

  it('rejects version 2 and a missing version with a message naming the version', () => {
    const v2 = parseGraphJson(JSON.stringify({ version: 2, nodes: [], edges: [] }));
    expect(v2.ok).toBe(false);
    if (!v2.ok) expect(v2.error).toMatchObject({ code: 'invalid_graph', field: 'version', message: expect.stringContaining('version 2') });
    const none = parseGraphJson('{"nodes": []}');
    if (!none.ok) expect(none.error.message).toContain('no "version"');
    expect(none.ok).toBe(false);
  });

  it('rejects JSON that is not a graph object', () => {
    for (const text of ['[]', '42', 'null', '{"version":1,"nodes":{}}']) {
      const result = parseGraphJson(text);
      expect(result.ok, text).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('invalid_graph');
    }
  });
});
