import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createDefaultPipeline, defaultParams, parseGraphJson, validateGraph } from '../src/index.ts';

const examplePath = fileURLToPath(new URL('../../../examples/default-pipeline.json', import.meta.url));

describe('examples/default-pipeline.json', () => {
  const parsed = parseGraphJson(readFileSync(examplePath, 'utf8'));

  it('parses and validates', () => {
    expect(parsed.ok ? [] : parsed.errors).toEqual([]);
    if (parsed.ok) expect(validateGraph(parsed.graph).errors).toEqual([]);
  });

  it('is the default template: every param at its default, dataset on sample-steel', () => {
    if (!parsed.ok) throw new Error('example did not parse');
    expect(parsed.graph).toEqual(createDefaultPipeline());
    for (const node of parsed.graph.nodes) expect(node.params, node.id).toEqual(defaultParams(node.type));
    expect(parsed.graph.nodes.find((n) => n.type === 'dataset')?.params.path).toBe('sample-steel');
  });

  it('evaluates on the original dataset and trains on the augmented one, laid out left to right', () => {
    if (!parsed.ok) throw new Error('example did not parse');
    const { nodes, edges } = parsed.graph;
    const typeOf = (id: string) => nodes.find((n) => n.id === id)?.type;
    const into = (type: string, handle: string) =>
      edges.filter((e) => typeOf(e.target) === type && e.targetHandle === handle).map((e) => typeOf(e.source));
    expect(into('evaluate', 'dataset')).toEqual(['dataset']);
    expect(into('train', 'dataset')).toEqual(['augment']);
    expect(into('deploy', 'metrics')).toEqual(['evaluate']);
    const x = (id: string) => nodes.find((n) => n.id === id)?.position.x ?? Number.NaN;
    for (const e of edges) expect(x(e.source), `${e.source} → ${e.target}`).toBeLessThan(x(e.target));
  });
});
