import { createDefaultPipeline, type PipelineGraph } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import { createEditorStore } from '../src/editor/store.ts';

function fresh() {
  return createEditorStore();
}

/** dataset → train ← head ← backbone: a small chain the tests wire up by hand. */
function chain() {
  const store = fresh();
  const s = () => store.getState();
  const dataset = s().addNode('dataset', { x: 0, y: 0 });
  const backbone = s().addNode('backbone', { x: 0, y: 200 });
  const head = s().addNode('head', { x: 250, y: 200 });
  const train = s().addNode('train', { x: 500, y: 0 });
  return { store, s, dataset, backbone, head, train };
}

describe('editor store: editing is undoable one user action at a time', () => {
  it('adds a node with the definition defaults, and undo/redo removes/restores it in one step', () => {
    const store = fresh();
    const id = store.getState().addNode('train', { x: 10.4, y: 20.6 });
    const node = store.getState().nodes.find((n) => n.id === id);
    expect(node?.data.nodeType).toBe('train');
    expect(node?.data.params.epochs).toBe(30);
    expect(node?.position).toEqual({ x: 10, y: 21 });

    store.getState().undo();
    expect(store.getState().nodes).toHaveLength(0);
    store.getState().redo();
    expect(store.getState().nodes.map((n) => n.id)).toEqual([id]);
  });

  it('connects compatible ports, and undo removes just that edge', () => {
    const { s, dataset, train } = chain();
    const nodesBefore = s().nodes.length;
    const result = s().connect({ source: dataset, sourceHandle: 'dataset', target: train, targetHandle: 'dataset' });
    expect(result.ok).toBe(true);
    expect(s().edges).toHaveLength(1);

    s().undo();
    expect(s().edges).toHaveLength(0);
    expect(s().nodes).toHaveLength(nodesBefore);
    s().redo();
    expect(s().edges).toMatchObject([{ source: dataset, target: train, sourceHandle: 'dataset', targetHandle: 'dataset' }]);
  });

  it('refuses a port type mismatch and says why', () => {
    const { s, dataset, head } = chain();
    const result = s().connect({ source: dataset, sourceHandle: 'dataset', target: head, targetHandle: 'backbone' });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/takes Backbone, not Dataset/);
    expect(s().edges).toHaveLength(0);
    expect(s().notice?.text).toMatch(/takes Backbone/);
    // A refused connection is not an edit: nothing to undo.
    expect(s().past).toHaveLength(4);
  });

  it('refuses a second edge into one input', () => {
    const { s, dataset, train } = chain();
    const other = s().addNode('dataset', { x: 0, y: 400 });
    expect(s().connect({ source: dataset, sourceHandle: 'dataset', target: train, targetHandle: 'dataset' }).ok).toBe(true);
    const second = s().connect({ source: other, sourceHandle: 'dataset', target: train, targetHandle: 'dataset' });
    expect(second).toMatchObject({ ok: false });
    if (!second.ok) expect(second.reason).toMatch(/already connected/);
  });

  it('refuses a connection that would close a cycle', () => {
    const store = fresh();
    const s = () => store.getState();
    const a = s().addNode('augment', { x: 0, y: 0 });
    const b = s().addNode('augment', { x: 200, y: 0 });
    expect(s().connect({ source: a, sourceHandle: 'dataset', target: b, targetHandle: 'dataset' }).ok).toBe(true);
    const back = s().connect({ source: b, sourceHandle: 'dataset', target: a, targetHandle: 'dataset' });
    expect(back.ok).toBe(false);
    if (!back.ok) expect(back.reason).toMatch(/cycle/);
    expect(s().connectionProblem({ source: b, sourceHandle: 'dataset', target: a, targetHandle: 'dataset' })).toMatch(/cycle/);
  });

  it('commits a whole drag as one step when the drag stops', () => {
    const { s, dataset } = chain();
    const depth = s().past.length;
    for (const x of [10, 20, 30, 40]) {
      s().onNodesChange([{ type: 'position', id: dataset, position: { x, y: 5 }, dragging: true }]);
    }
    s().onNodesChange([{ type: 'position', id: dataset, position: { x: 40, y: 5 }, dragging: false }]);
    expect(s().past).toHaveLength(depth + 1);
    s().undo();
    expect(s().nodes.find((n) => n.id === dataset)?.position).toEqual({ x: 0, y: 0 });
  });

  it('coalesces param edits made during one field focus into one step', () => {
    const { s, train } = chain();
    const depth = s().past.length;
    for (const v of [1, 12, 120]) s().setParam(train, 'epochs', v, 'focus-1');
    expect(s().past).toHaveLength(depth + 1);
    s().setParam(train, 'epochs', 7, 'focus-2');
    expect(s().past).toHaveLength(depth + 2);
    s().undo();
    expect(s().nodes.find((n) => n.id === train)?.data.params.epochs).toBe(120);
    s().undo();
    expect(s().nodes.find((n) => n.id === train)?.data.params.epochs).toBe(30);
  });

  it('pastes N copied nodes with fresh ids, offset, internal edges kept, undone in one step', () => {
    const { s, dataset, backbone, head, train } = chain();
    s().connect({ source: backbone, sourceHandle: 'backbone', target: head, targetHandle: 'backbone' });
    s().connect({ source: head, sourceHandle: 'model', target: train, targetHandle: 'model' });
    s().connect({ source: dataset, sourceHandle: 'dataset', target: train, targetHandle: 'dataset' });
    s().selectOnly([backbone, head, train]);
    expect(s().copySelected()).toBe(3);

    const depth = s().past.length;
    const pasted = s().paste();
    expect(pasted).toHaveLength(3);
    expect(new Set([...pasted, dataset, backbone, head, train]).size).toBe(7);
    expect(s().nodes).toHaveLength(7);
    const copyOfHead = s().nodes.find((n) => pasted.includes(n.id) && n.data.nodeType === 'head');
    // Offset enough that the original's title row stays in sight (issue 20 item 10: it landed on top).
    expect(copyOfHead?.position).toEqual({ x: 310, y: 260 });
    // backbone→head and head→train are internal; dataset→train crosses the selection and is not copied.
    const pastedEdges = s().edges.filter((e) => pasted.includes(e.source) && pasted.includes(e.target));
    expect(pastedEdges).toHaveLength(2);
    expect(s().edges).toHaveLength(5);
    expect(s().nodes.filter((n) => n.selected).map((n) => n.id).sort()).toEqual([...pasted].sort());
    expect(s().past).toHaveLength(depth + 1);

    s().undo();
    expect(s().nodes).toHaveLength(4);
    expect(s().edges).toHaveLength(3);
  });

  it('pastes at the pointer: the copied block\'s top-left corner lands there', () => {
    const { s, backbone, head } = chain();
    s().selectOnly([backbone, head]);
    s().copySelected();
    const left = Math.min(...s().nodes.filter((n) => n.selected).map((n) => n.position.x));
    const top = Math.min(...s().nodes.filter((n) => n.selected).map((n) => n.position.y));
    const pasted = s().paste({ x: 1000, y: 700 });
    const copies = s().nodes.filter((n) => pasted.includes(n.id));
    expect(Math.min(...copies.map((n) => n.position.x))).toBe(960);
    expect(Math.min(...copies.map((n) => n.position.y))).toBe(680);
    // The block keeps its shape.
    const copyOfHead = copies.find((n) => n.data.nodeType === 'head')!;
    const headNode = s().nodes.find((n) => n.id === head)!;
    expect(copyOfHead.position.x - 960).toBe(headNode.position.x - left);
    expect(copyOfHead.position.y - 680).toBe(headNode.position.y - top);
  });

  it('duplicates the selection and deletes the selection with its edges, one step each', () => {
    const { s, backbone, head } = chain();
    s().connect({ source: backbone, sourceHandle: 'backbone', target: head, targetHandle: 'backbone' });
    s().selectOnly([backbone]);
    const [copy] = s().duplicateSelected();
    expect(s().nodes.find((n) => n.id === copy)?.data.nodeType).toBe('backbone');
    s().selectOnly([backbone]);
    s().deleteSelected();
    expect(s().nodes.some((n) => n.id === backbone)).toBe(false);
    expect(s().edges).toHaveLength(0);
    s().undo();
    expect(s().edges).toHaveLength(1);
    s().selectAll();
    s().deleteSelected();
    expect(s().nodes).toHaveLength(0);
  });
});

describe('editor store: document, validation and dirty flag', () => {
  it('round-trips PipelineGraph v1 exactly through fromGraph/toGraph', () => {
    const graph: PipelineGraph = createDefaultPipeline();
    graph.nodes[0] = { ...(graph.nodes[0] as PipelineGraph['nodes'][number]), label: 'Steel strip images' };
    const store = fresh();
    store.getState().loadGraph(graph);
    expect(store.getState().toGraph()).toEqual(graph);
    expect(JSON.parse(JSON.stringify(store.getState().toGraph()))).toEqual(JSON.parse(JSON.stringify(graph)));
  });

  it('validates live: a bad param shows on its node and goes away when fixed', () => {
    const store = fresh();
    const s = () => store.getState();
    s().loadGraph(createDefaultPipeline());
    expect(s().validation.errors).toEqual([]);
    const train = s().nodes.find((n) => n.data.nodeType === 'train')?.id as string;
    s().setParam(train, 'epochs', 0);
    expect(s().validation.byNode[train]).toEqual([expect.objectContaining({ code: 'param_invalid', field: 'epochs' })]);
    s().setParam(train, 'epochs', 5);
    expect(s().validation.byNode[train]).toBeUndefined();
  });

  it('tracks unsaved changes against the last save, including undo back to the saved state', () => {
    const store = fresh();
    const s = () => store.getState();
    s().loadGraph(createDefaultPipeline(), { name: 'Strip line A' });
    expect(s().dirty).toBe(false);
    s().addNode('augment', { x: 0, y: 600 });
    expect(s().dirty).toBe(true);
    s().undo();
    expect(s().dirty).toBe(false);
    s().setDoc({ name: 'Strip line B' });
    expect(s().dirty).toBe(true);
    s().markSaved();
    expect(s().dirty).toBe(false);
    // Selecting is not an edit.
    s().selectAll();
    expect(s().dirty).toBe(false);
  });

  it('keeps per-node errors from the server until the next edit', () => {
    const store = fresh();
    const s = () => store.getState();
    s().loadGraph(createDefaultPipeline());
    s().setRunErrors([{ code: 'param_invalid', message: 'Dataset folder "x" not found', nodeId: 'dataset', field: 'path' }]);
    expect(s().validation.byNode.dataset).toHaveLength(1);
    s().setParam('dataset', 'path', 'sample-steel');
    expect(s().validation.byNode.dataset).toBeUndefined();
  });
});
