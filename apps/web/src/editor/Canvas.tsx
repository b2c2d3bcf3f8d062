'use client';

import { PORT_COLORS, type PortType } from '@defectflow/nodes';
import {
  Background,
  BackgroundVariant,
  type Connection,
  Controls,
  type Edge,
  type FinalConnectionState,
  type IsValidConnection,
  MiniMap,
  type NodeTypes,
  type OnConnectEnd,
  ReactFlow,
  getNodesBounds,
  useNodesInitialized,
  useReactFlow,
} from '@xyflow/react';
import { type DragEvent, type MouseEvent, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { readableViewport } from './fit.ts';
import { PipelineNodeView } from './PipelineNodeView.tsx';
import { CATEGORY_COLORS, useRegistry } from './registry.tsx';
import { useEditorStore } from './store.ts';
import type { PipelineEdge, PipelineNode } from './types.ts';

export const PALETTE_MIME = 'application/x-defectflow-node';

/** The minimap's size, and the canvas height under which it is hidden (it would cover the graph). */
const MINIMAP = { width: 180, height: 120, margin: 12 };
const MINIMAP_MIN_CANVAS_HEIGHT = 560;
/** The zoom buttons, laid out in a row at the bottom left. */
const CONTROLS_BAND = 44;
/** A height change bigger than this (the run drawer opening, collapsing, closing) refits the graph. */
const REFIT_HEIGHT_CHANGE = 40;

const nodeTypes: NodeTypes = { pipeline: PipelineNodeView };

/** The connection a finished drag describes, whichever end the user started from. */
function connectionFrom(state: FinalConnectionState): Connection | null {
  if (!state.fromHandle || !state.toHandle) return null;
  const [from, to] = [state.fromHandle, state.toHandle];
  const [source, target] = from.type === 'source' ? [from, to] : [to, from];
  return { source: source.nodeId, sourceHandle: source.id ?? null, target: target.nodeId, targetHandle: target.id ?? null };
}

export function Canvas() {
  const nodes = useEditorStore((s) => s.nodes);
  const edges = useEditorStore((s) => s.edges);
  const onNodesChange = useEditorStore((s) => s.onNodesChange);
  const onEdgesChange = useEditorStore((s) => s.onEdgesChange);
  const connect = useEditorStore((s) => s.connect);
  const connectionProblem = useEditorStore((s) => s.connectionProblem);
  const addNode = useEditorStore((s) => s.addNode);
  const notify = useEditorStore((s) => s.notify);
  const { byType } = useRegistry();
  const { screenToFlowPosition, getNodes, setViewport } = useReactFlow();
  const size = useCanvasSize();
  const showMiniMap = size !== null && size.height >= MINIMAP_MIN_CANVAS_HEIGHT;
  useReadableFit(size, showMiniMap ? MINIMAP.height + 2 * MINIMAP.margin : CONTROLS_BAND, getNodes, setViewport);
  const setPointer = useEditorStore((s) => s.setPointer);

  // Edges take the colour of the port type they carry. Keyed on node types only, so dragging does not restyle edges.
  const nodeTypesKey = useEditorStore((s) => s.nodes.map((n) => `${n.id}\u0000${n.data.nodeType}`).join('\u0001'));
  const styledEdges = useMemo<PipelineEdge[]>(() => {
    const nodeType = new Map(
      nodeTypesKey
        .split('\u0001')
        .filter(Boolean)
        .map((pair) => pair.split('\u0000') as [string, string]),
    );
    return edges.map((e) => {
      const sourceType = nodeType.get(e.source);
      const port = sourceType ? byType.get(sourceType)?.outputs.find((p) => p.name === e.sourceHandle) : undefined;
      const color = port ? PORT_COLORS[port.type as PortType] : '#adb5bd';
      return { ...e, style: { stroke: color, strokeWidth: e.selected ? 3 : 2 } };
    });
  }, [edges, nodeTypesKey, byType]);

  const isValidConnection = useCallback<IsValidConnection<Edge>>(
    (c) =>
      connectionProblem({
        source: c.source,
        target: c.target,
        sourceHandle: c.sourceHandle ?? null,
        targetHandle: c.targetHandle ?? null,
      }) === null,
    [connectionProblem],
  );

  // React Flow silently drops a refused connection; tell the user why.
  const onConnectEnd = useCallback<OnConnectEnd>(
    (_event, state) => {
      if (state.isValid !== false) return;
      const c = connectionFrom(state);
      const problem = c ? connectionProblem(c) : null;
      if (problem) notify('error', `Connection refused: ${problem}`);
    },
    [connectionProblem, notify],
  );

  const onDragOver = useCallback((event: DragEvent) => {
    if (!event.dataTransfer.types.includes(PALETTE_MIME)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  }, []);

  const onDrop = useCallback(
    (event: DragEvent) => {
      const nodeType = event.dataTransfer.getData(PALETTE_MIME);
      if (!nodeType) return;
      event.preventDefault();
      const p = screenToFlowPosition({ x: event.clientX, y: event.clientY });
      // Drop point = top-left corner minus a little, so the card lands under the cursor.
      addNode(nodeType, { x: p.x - 40, y: p.y - 20 });
    },
    [screenToFlowPosition, addNode],
  );

  // Remember where the pointer is, so Ctrl+V pastes there.
  const onMouseMove = useCallback(
    (event: MouseEvent) => setPointer(screenToFlowPosition({ x: event.clientX, y: event.clientY })),
    [screenToFlowPosition, setPointer],
  );

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: drop target for nodes dragged from the palette
    <div
      className="dfe-canvas"
      ref={size?.ref}
      onDragOver={onDragOver}
      onDrop={onDrop}
      onMouseMove={onMouseMove}
      onMouseLeave={() => setPointer(null)}
      data-testid="canvas"
    >
      <ReactFlow<PipelineNode, PipelineEdge>
        nodes={nodes}
        edges={styledEdges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={(c) => connect(c)}
        onConnectEnd={onConnectEnd}
        isValidConnection={isValidConnection}
        deleteKeyCode={null}
        selectionKeyCode="Shift"
        multiSelectionKeyCode={['Meta', 'Control']}
        minZoom={0.2}
        maxZoom={2}
        snapToGrid
        snapGrid={[10, 10]}
      >
        <Background variant={BackgroundVariant.Dots} gap={20} size={1.2} color="#c9ced6" />
        {showMiniMap ? (
          <MiniMap
            pannable
            zoomable
            style={{ width: MINIMAP.width, height: MINIMAP.height, margin: MINIMAP.margin }}
            nodeColor={(n) => {
              const def = byType.get((n as PipelineNode).data.nodeType);
              return def ? (CATEGORY_COLORS[def.category] ?? '#868e96') : '#e03131';
            }}
            nodeStrokeWidth={2}
          />
        ) : null}
        <Controls showInteractive={false} orientation="horizontal" />
      </ReactFlow>
    </div>
  );
}

/** The canvas element's size, kept current by a ResizeObserver (layout changes: window, run drawer). */
function useCanvasSize(): { width: number; height: number; ref: (el: HTMLDivElement | null) => void } | null {
  const [size, setSize] = useState<{ width: number; height: number }>({ width: 0, height: 0 });
  const observer = useRef<ResizeObserver | null>(null);
  const ref = useCallback((el: HTMLDivElement | null) => {
    observer.current?.disconnect();
    observer.current = null;
    if (!el) return;
    const measure = () => {
      const r = el.getBoundingClientRect();
      setSize((s) => (Math.round(r.width) === s.width && Math.round(r.height) === s.height ? s : { width: Math.round(r.width), height: Math.round(r.height) }));
    };
    observer.current = new ResizeObserver(measure);
    observer.current.observe(el);
    measure();
  }, []);
  return useMemo(() => ({ ...size, ref }), [size, ref]);
}

/**
 * Fits the graph readably (fit.ts) when the editor asks (a document loaded, auto-layout, import) once the nodes
 * are measured, and again when the canvas height changes a lot (the run drawer opened, collapsed or closed).
 */
function useReadableFit(
  size: { width: number; height: number } | null,
  reserveBottom: number,
  getNodes: ReturnType<typeof useReactFlow>['getNodes'],
  setViewport: ReturnType<typeof useReactFlow>['setViewport'],
) {
  const fitRequest = useEditorStore((s) => s.fitRequest);
  const nodesInitialized = useNodesInitialized();
  const done = useRef({ request: 0, height: 0 });
  useEffect(() => {
    if (!size || size.width === 0 || size.height === 0) return;
    const last = done.current;
    const resized = last.height > 0 && Math.abs(size.height - last.height) > REFIT_HEIGHT_CHANGE;
    const requested = fitRequest !== last.request;
    if ((!requested && !resized) || useEditorStore.getState().nodes.length === 0) {
      done.current = { request: fitRequest, height: size.height };
      return;
    }
    const nodes = getNodes();
    if (nodes.length === 0 || !nodesInitialized) return; // again once React Flow has the nodes measured
    done.current = { request: fitRequest, height: size.height };
    const viewport = readableViewport(getNodesBounds(nodes), { width: size.width, height: size.height, reserveBottom });
    void setViewport(viewport, { duration: resized ? 150 : 0 });
  }, [size, reserveBottom, fitRequest, nodesInitialized, getNodes, setViewport]);
}
