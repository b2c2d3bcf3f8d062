import { createDefaultPipeline, SAFE_ID_PATTERN, validateGraph } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import { freshId } from '../src/editor/graph-convert.ts';
import { createEditorStore } from '../src/editor/store.ts';

/** Every id the editor makes must pass the graph schema's id check, or the saved graph could not run. */
describe('editor ids satisfy SAFE_ID_PATTERN', () => {
  it('for new, connected, pasted and duplicated nodes and edges of the default template', () => {
    const store = createEditorStore();
    const s = () => store.getState();
    s().importGraph(createDefaultPipeline());
    s().selectAll();
    expect(s().copySelected()).toBe(8);
    s().paste();
    s().duplicateSelected();
    const added = s().addNode('dataset', { x: 0, y: 0 });
    const train = s().nodes.find((n) => n.data.nodeType === 'train' && n.id !== 'train')!.id;
    s().connect({ source: added, sourceHandle: 'dataset', target: train, targetHandle: 'dataset' });
    const ids = [...s().nodes.map((n) => n.id), ...s().edges.map((e) => e.id)];
    expect(s().nodes).toHaveLength(25);
    for (const id of ids) expect(id).toMatch(SAFE_ID_PATTERN);
    const shapeErrors = validateGraph(s().toGraph()).errors.filter((e) => e.code === 'invalid_id' || e.code === 'invalid_graph');
    expect(shapeErrors).toEqual([]);
  });

  it('even when the node type itself is not a safe name (an imported unknown type)', () => {
    expect(freshId('my.type/../x', new Set())).toMatch(SAFE_ID_PATTERN);
    expect(freshId('t'.repeat(100), new Set())).toMatch(SAFE_ID_PATTERN);
    expect(freshId('', new Set())).toMatch(SAFE_ID_PATTERN);
    expect(freshId('dataset', new Set(['dataset-1']))).toBe('dataset-2');
  });
});
