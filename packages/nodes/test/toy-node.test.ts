import { describe, expect, it } from 'vitest';
import { nodeDefinitions, serializeRegistry } from '../src/index.ts';
import { execute } from '../src/runtime/executor.ts';
import { bindRun } from '../src/runtime/run-functions.ts';
import { toyNode } from './fixtures/toy-node/definition.ts';
import { runToy } from './fixtures/toy-node/run.ts';
import { recorder, testDirs } from './helpers/stub-nodes.ts';

/** Adding a node type = a folder with its definition and run function + one line in each list (here: the test's lists). */
const definitions = [...nodeDefinitions, toyNode];
const runFns = { toy: bindRun(toyNode, runToy) };

describe('a toy node type from a fixture folder', () => {
  it('serializes for the editor like the built-in ones', () => {
    const toy = serializeRegistry(definitions).find((d) => d.type === 'toy');
    expect(toy?.defaults).toEqual({ count: 3, word: 'toy' });
    expect(toy?.params).toMatchObject({ properties: { count: { default: 3, maximum: 10, title: 'Count' } } });
  });

  it('runs end to end through the executor with its defaults filled in', async () => {
    const rec = recorder();
    const graph = { version: 1 as const, nodes: [{ id: 't1', type: 'toy', params: { count: 4 }, position: { x: 0, y: 0 } }], edges: [] };
    const result = await execute({ runId: 'toy-run', graph, sink: rec.sink, dirs: testDirs, definitions }, runFns);
    expect(result.status).toBe('succeeded');
    expect(result.outputs.t1).toEqual({ metrics: [1, 2, 3, 4] });
    expect(rec.of('node.finished')[0]).toMatchObject({ nodeId: 't1', nodeType: 'toy', summary: { word: 'toy', total: 10 } });
    expect(rec.of('node.log').map((e) => e.message)).toEqual(['4 toys']);
  });

  it('is refused with param_invalid by the catalogue it belongs to, and unknown to the default one', async () => {
    const graph = { version: 1 as const, nodes: [{ id: 't1', type: 'toy', params: { count: 11 }, position: { x: 0, y: 0 } }], edges: [] };
    const bad = await execute({ runId: 'toy-bad', graph, sink: () => {}, dirs: testDirs, definitions }, runFns);
    expect(bad).toMatchObject({ status: 'failed', error: expect.stringMatching(/count/) });
    const unknown = await execute({ runId: 'toy-unknown', graph, sink: () => {}, dirs: testDirs }, runFns);
    expect(unknown).toMatchObject({ status: 'failed', error: expect.stringMatching(/toy/) });
  });
});
