import {
  type GraphError,
  type PipelineGraph,
  defaultParams,
  errorsByNode,
  validateGraph,
} from '@defectflow/nodes';
import {
  addEdge,
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type XYPosition,
} from '@xyflow/react';
import { create } from 'zustand';
import { freshId, fromPipelineGraph, toPipelineGraph } from './graph-convert.ts';
import { layoutLeftToRight } from './layout.ts';
import { checkConnection } from './rules.ts';
import { EMPTY_DOC, type EditorDoc, type NodeRunState, type PipelineEdge, type PipelineNode } from './types.ts';

/** The part of the state undo/redo restores. */
interface Snapshot {
  nodes: PipelineNode[];
  edges: PipelineEdge[];
}

export interface Validation {
  /** Live errors from validateGraph plus those the server returned for the last Run. */
  errors: GraphError[];
  byNode: Record<string, GraphError[]>;
  /** Errors that belong to no node (empty graph, no terminal node, invalid edge…). */
  general: GraphError[];
}

export interface Notice {
  id: number;
  kind: 'error' | 'info' | 'success';
  text: string;
  /** An action button the notice offers. */
  action?: 'discard-draft';
}

export type ConnectResult = { ok: true; edgeId: string } | { ok: false; reason: string };

const HISTORY_LIMIT = 200;
/** How far a paste without a pointer position lands from the original (and from the previous paste): title rows stay visible. */
const PASTE_OFFSET = 60;

export interface EditorState {
  doc: EditorDoc;
  nodes: PipelineNode[];
  edges: PipelineEdge[];
  past: Snapshot[];
  future: Snapshot[];
  clipboard: Snapshot | null;
  /** How many times the current clipboard was pasted: each paste lands a little further away. */
  pasteCount: number;
  /** State before the drag in progress; committed as one history step when the drag stops. */
  dragStart: Snapshot | null;
  /** Consecutive param edits with the same key (one field focus) share one history step. */
  coalesceKey: string | null;
  savedSignature: string;
  dirty: boolean;
  validation: Validation;
  /** Per-node errors the server returned from runs.start; cleared by the next edit. */
  runErrors: GraphError[];
  notice: Notice | null;
  activeRunId: string | null;
  runStates: Record<string, NodeRunState>;
  /** Bumped to ask the canvas for a readable fit-to-view once the nodes are measured (see fit.ts). */
  fitRequest: number;
  /** Where the pointer is over the canvas (flow coordinates), or null: a paste lands there. */
  pointer: { x: number; y: number } | null;

  // Canvas wiring (React Flow controlled mode).
  onNodesChange: (changes: NodeChange<PipelineNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<PipelineEdge>[]) => void;
  connect: (connection: Connection) => ConnectResult;
  /** Why a connection would be refused, or null when it is allowed (for isValidConnection). */
  connectionProblem: (connection: Connection) => string | null;

  // Editing actions: each one is one undo step.
  addNode: (nodeType: string, position: XYPosition) => string;
  setParam: (nodeId: string, field: string, value: unknown, coalesceKey?: string) => void;
  setLabel: (nodeId: string, label: string, coalesceKey?: string) => void;
  deleteSelected: () => void;
  copySelected: () => number;
  /** Pastes the clipboard; with `at` (flow coordinates, the pointer) its top-left corner lands there. */
  paste: (at?: { x: number; y: number }) => string[];
  duplicateSelected: () => string[];
  autoLayout: () => void;
  importGraph: (graph: PipelineGraph) => void;
  undo: () => void;
  redo: () => void;

  // Selection (not part of history).
  selectAll: () => void;
  selectOnly: (nodeIds: string[]) => void;

  // Document.
  loadGraph: (graph: PipelineGraph, doc?: Partial<EditorDoc>, opts?: { saved?: boolean }) => void;
  setDoc: (doc: Partial<EditorDoc>) => void;
  toGraph: () => PipelineGraph;
  markSaved: () => void;

  // Runs and messages.
  setRunErrors: (errors: GraphError[]) => void;
  setActiveRun: (runId: string | null) => void;
  setRunStates: (states: Record<string, NodeRunState>) => void;
  requestFit: () => void;
  setPointer: (pointer: { x: number; y: number } | null) => void;
  notify: (kind: Notice['kind'], text: string, action?: Notice['action']) => void;
  dismissNotice: () => void;
}

function snapshot(s: Pick<EditorState, 'nodes' | 'edges'>): Snapshot {
  return { nodes: s.nodes, edges: s.edges };
}

/** What Save writes: a change to any of it leaves unsaved changes. */
function signature(graph: PipelineGraph, doc: EditorDoc): string {
  return JSON.stringify({ graph, name: doc.name, productLineId: doc.productLineId });
}

function computeValidation(graph: PipelineGraph, runErrors: GraphError[]): Validation {
  const live = validateGraph(graph).errors;
  const errors = [...live, ...runErrors];
  return {
    errors,
    byNode: errorsByNode(errors),
    general: errors.filter((e) => e.nodeId === undefined && (e.nodeIds === undefined || e.nodeIds.length === 0)),
  };
}

function withHistory(s: EditorState): Pick<EditorState, 'past' | 'future' | 'coalesceKey'> {
  return { past: [...s.past, snapshot(s)].slice(-HISTORY_LIMIT), future: [], coalesceKey: null };
}

/** Derived fields after nodes/edges/doc changed in a way that matters for saving and validation. */
function derive(
  nodes: PipelineNode[],
  edges: PipelineEdge[],
  doc: EditorDoc,
  savedSignature: string,
  runErrors: GraphError[],
): Pick<EditorState, 'validation' | 'dirty'> {
  const graph = toPipelineGraph(nodes, edges);
  return { validation: computeValidation(graph, runErrors), dirty: signature(graph, doc) !== savedSignature };
}

function samePositions(a: PipelineNode[], b: PipelineNode[]): boolean {
  if (a.length !== b.length) return false;
  const byId = new Map(b.map((n) => [n.id, n.position]));
  return a.every((n) => {
    const p = byId.get(n.id);
    return p !== undefined && p.x === n.position.x && p.y === n.position.y;
  });
}

let noticeCounter = 0;

/** A fresh editor store; the app uses the singleton below, tests make their own. */
export function createEditorStore() {
  return create<EditorState>()((set, get) => {
    /** Apply an edit as one undo step and refresh validation and the dirty flag. */
    const commit = (next: { nodes?: PipelineNode[]; edges?: PipelineEdge[]; coalesceKey?: string | null }) => {
      const s = get();
      const nodes = next.nodes ?? s.nodes;
      const edges = next.edges ?? s.edges;
      const key = next.coalesceKey ?? null;
      const history = key !== null && key === s.coalesceKey ? { coalesceKey: key } : { ...withHistory(s), coalesceKey: key };
      set({ nodes, edges, ...history, runErrors: [], ...derive(nodes, edges, s.doc, s.savedSignature, []) });
    };

    const selectedSnapshot = (): Snapshot | null => {
      const s = get();
      const nodes = s.nodes.filter((n) => n.selected);
      if (nodes.length === 0) return null;
      const ids = new Set(nodes.map((n) => n.id));
      const edges = s.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
      return { nodes, edges };
    };

    /** Insert copies of `clip` with fresh ids, shifted by `offset`, internal edges kept; the copies become the selection. */
    const insertCopies = (clip: Snapshot, offset: { x: number; y: number }): string[] => {
      const s = get();
      const taken = new Set(s.nodes.map((n) => n.id));
      const idMap = new Map<string, string>();
      const copies: PipelineNode[] = clip.nodes.map((n) => {
        const id = freshId(n.data.nodeType, taken);
        taken.add(id);
        idMap.set(n.id, id);
        return {
          id,
          type: 'pipeline',
          position: { x: Math.round(n.position.x + offset.x), y: Math.round(n.position.y + offset.y) },
          data: structuredClone(n.data),
          selected: true,
        };
      });
      const edgeIds = new Set(s.edges.map((e) => e.id));
      const edgeCopies: PipelineEdge[] = [];
      for (const e of clip.edges) {
        const source = idMap.get(e.source);
        const target = idMap.get(e.target);
        if (source === undefined || target === undefined) continue;
        const id = freshId('e', edgeIds);
        edgeIds.add(id);
        edgeCopies.push({ id, source, target, sourceHandle: e.sourceHandle ?? null, targetHandle: e.targetHandle ?? null });
      }
      commit({
        nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...copies],
        edges: [...s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...edgeCopies],
      });
      return copies.map((n) => n.id);
    };

    const emptyGraph = toPipelineGraph([], []);

    return {
      doc: { ...EMPTY_DOC },
      nodes: [],
      edges: [],
      past: [],
      future: [],
      clipboard: null,
      pasteCount: 0,
      dragStart: null,
      coalesceKey: null,
      savedSignature: signature(emptyGraph, EMPTY_DOC),
      dirty: false,
      validation: computeValidation(emptyGraph, []),
      runErrors: [],
      notice: null,
      activeRunId: null,
      runStates: {},
      fitRequest: 0,
      pointer: null,

      onNodesChange: (changes) => {
        const s = get();
        const before = snapshot(s);
        const nodes = applyNodeChanges(changes, s.nodes);
        let edges = s.edges;
        let dragStart = s.dragStart;
        let history: Partial<EditorState> = {};
        let structural = false;

        const removed = new Set(changes.flatMap((c) => (c.type === 'remove' ? [c.id] : [])));
        if (removed.size > 0) {
          edges = edges.filter((e) => !removed.has(e.source) && !removed.has(e.target));
          history = withHistory(s);
          structural = true;
        }
        if (changes.some((c) => c.type === 'add' || c.type === 'replace')) {
          history = withHistory(s);
          structural = true;
        }
        const positions = changes.filter((c) => c.type === 'position');
        if (positions.some((c) => c.type === 'position' && c.dragging)) {
          // First frame of a drag: remember where it started.
          dragStart ??= before;
        } else if (positions.length > 0) {
          // Drag stop (or a keyboard move): the whole move is one step.
          const start = dragStart ?? before;
          dragStart = null;
          if (!samePositions(start.nodes, nodes)) {
            history = { past: [...s.past, start].slice(-HISTORY_LIMIT), future: [], coalesceKey: null };
            structural = true;
          }
        }
        set({
          nodes,
          edges,
          dragStart,
          ...history,
          ...(structural ? derive(nodes, edges, s.doc, s.savedSignature, s.runErrors) : {}),
        });
      },

      onEdgesChange: (changes) => {
        const s = get();
        const edges = applyEdgeChanges(changes, s.edges);
        const structural = changes.some((c) => c.type !== 'select');
        if (!structural) {
          set({ edges });
          return;
        }
        set({ edges, ...withHistory(s), ...derive(s.nodes, edges, s.doc, s.savedSignature, s.runErrors) });
      },

      connectionProblem: (connection) => checkConnection(get().toGraph(), connection),

      connect: (connection) => {
        const s = get();
        const problem = s.connectionProblem(connection);
        if (problem !== null) {
          s.notify('error', problem);
          return { ok: false, reason: problem };
        }
        const id = freshId('e', new Set(s.edges.map((e) => e.id)));
        commit({ edges: addEdge({ ...connection, id }, s.edges) });
        return { ok: true, edgeId: id };
      },

      addNode: (nodeType, position) => {
        const s = get();
        const id = freshId(nodeType, new Set(s.nodes.map((n) => n.id)));
        const node: PipelineNode = {
          id,
          type: 'pipeline',
          position: { x: Math.round(position.x), y: Math.round(position.y) },
          data: { nodeType, params: defaultParams(nodeType) },
          selected: true,
        };
        commit({ nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node] });
        return id;
      },

      setParam: (nodeId, field, value, coalesceKey) => {
        const s = get();
        const nodes = s.nodes.map((n) => {
          if (n.id !== nodeId) return n;
          const params = { ...n.data.params };
          if (value === undefined) delete params[field];
          else params[field] = value;
          return { ...n, data: { ...n.data, params } };
        });
        commit({ nodes, coalesceKey: coalesceKey ? `param:${nodeId}:${field}:${coalesceKey}` : null });
      },

      setLabel: (nodeId, label, coalesceKey) => {
        const s = get();
        const nodes = s.nodes.map((n) => {
          if (n.id !== nodeId) return n;
          const data = { ...n.data };
          if (label.trim() === '') delete data.label;
          else data.label = label;
          return { ...n, data };
        });
        commit({ nodes, coalesceKey: coalesceKey ? `label:${nodeId}:${coalesceKey}` : null });
      },

      deleteSelected: () => {
        const s = get();
        const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
        const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
        if (gone.size === 0 && edges.length === s.edges.length) return;
        commit({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
      },

      copySelected: () => {
        const clip = selectedSnapshot();
        if (clip === null) return 0;
        set({ clipboard: structuredClone(clip), pasteCount: 0 });
        return clip.nodes.length;
      },

      paste: (at) => {
        const s = get();
        if (s.clipboard === null) return [];
        const count = s.pasteCount + 1;
        set({ pasteCount: count });
        if (at) {
          // The copied block's top-left corner under the pointer (a little up-left, like a drop from the palette).
          const left = Math.min(...s.clipboard.nodes.map((n) => n.position.x));
          const top = Math.min(...s.clipboard.nodes.map((n) => n.position.y));
          return insertCopies(s.clipboard, { x: at.x - 40 - left, y: at.y - 20 - top });
        }
        return insertCopies(s.clipboard, { x: PASTE_OFFSET * count, y: PASTE_OFFSET * count });
      },

      duplicateSelected: () => {
        const clip = selectedSnapshot();
        return clip === null ? [] : insertCopies(clip, { x: PASTE_OFFSET, y: PASTE_OFFSET });
      },

      autoLayout: () => {
        const s = get();
        if (s.nodes.length === 0) return;
        const positions = layoutLeftToRight(s.nodes, s.edges);
        commit({ nodes: s.nodes.map((n) => ({ ...n, position: positions.get(n.id) ?? n.position })) });
      },

      importGraph: (graph) => {
        const { nodes, edges } = fromPipelineGraph(graph);
        commit({ nodes, edges });
      },

      undo: () => {
        const s = get();
        const prev = s.past[s.past.length - 1];
        if (prev === undefined) return;
        set({
          ...prev,
          past: s.past.slice(0, -1),
          future: [snapshot(s), ...s.future],
          coalesceKey: null,
          dragStart: null,
          runErrors: [],
          ...derive(prev.nodes, prev.edges, s.doc, s.savedSignature, []),
        });
      },

      redo: () => {
        const s = get();
        const next = s.future[0];
        if (next === undefined) return;
        set({
          ...next,
          past: [...s.past, snapshot(s)],
          future: s.future.slice(1),
          coalesceKey: null,
          dragStart: null,
          runErrors: [],
          ...derive(next.nodes, next.edges, s.doc, s.savedSignature, []),
        });
      },

      selectAll: () => {
        const s = get();
        set({ nodes: s.nodes.map((n) => ({ ...n, selected: true })), edges: s.edges.map((e) => ({ ...e, selected: true })) });
      },

      selectOnly: (nodeIds) => {
        const ids = new Set(nodeIds);
        const s = get();
        set({
          nodes: s.nodes.map((n) => (Boolean(n.selected) === ids.has(n.id) ? n : { ...n, selected: ids.has(n.id) })),
          edges: s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
        });
      },

      loadGraph: (graph, doc, opts) => {
        const s = get();
        const { nodes, edges } = fromPipelineGraph(graph);
        const nextDoc = { ...s.doc, ...doc };
        const saved = opts?.saved ?? true;
        const savedSignature = saved ? signature(toPipelineGraph(nodes, edges), nextDoc) : s.savedSignature;
        set({
          doc: nextDoc,
          nodes,
          edges,
          past: [],
          future: [],
          dragStart: null,
          coalesceKey: null,
          runErrors: [],
          savedSignature,
          ...derive(nodes, edges, nextDoc, savedSignature, []),
        });
      },

      setDoc: (doc) => {
        const s = get();
        const nextDoc = { ...s.doc, ...doc };
        set({ doc: nextDoc, ...derive(s.nodes, s.edges, nextDoc, s.savedSignature, s.runErrors) });
      },

      toGraph: () => {
        const s = get();
        return toPipelineGraph(s.nodes, s.edges);
      },

      markSaved: () => {
        const s = get();
        set({ savedSignature: signature(s.toGraph(), s.doc), dirty: false });
      },

      setRunErrors: (errors) => {
        const s = get();
        set({ runErrors: errors, validation: computeValidation(s.toGraph(), errors) });
      },

      setActiveRun: (runId) => set({ activeRunId: runId, runStates: {} }),
      setRunStates: (states) => set({ runStates: states }),
      requestFit: () => set({ fitRequest: get().fitRequest + 1 }),
      setPointer: (pointer) => set({ pointer }),

      notify: (kind, text, action) => set({ notice: { id: ++noticeCounter, kind, text, ...(action ? { action } : {}) } }),
      dismissNotice: () => set({ notice: null }),
    };
  });
}

export type EditorStore = ReturnType<typeof createEditorStore>;

/** The editor page's store. */
export const useEditorStore = createEditorStore();
