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
  useReactFlow,
} from '@xyflow/react';
import { type DragEvent, useCallback, useMemo } from 'react';
import { PipelineNodeView } from './PipelineNodeView.tsx';
import { CATEGORY_COLORS, useRegistry } from './registry.tsx';
import { useEditorStore } from './store.ts';
import type { PipelineEdge, PipelineNode } from './types.ts';

export const PALETTE_MIME = 'application/x-defectflow-node';

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
  const { screenToFlowPosition } = useReactFlow();

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

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: drop target for nodes dragged from the palette
    <div className="dfe-canvas" onDragOver={onDragOver} onDrop={onDrop} data-testid="canvas">
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
        <MiniMap
          pannable
          zoomable
          nodeColor={(n) => {
            const def = byType.get((n as PipelineNode).data.nodeType);
            return def ? (CATEGORY_COLORS[def.category] ?? '#868e96') : '#e03131';
          }}
          nodeStrokeWidth={2}
        />
        <Controls showInteractive={false} />
      </ReactFlow>
    </div>
  );
}
