import type { Edge, Node } from '@xyflow/react';

/** What a canvas node carries: the graph node's type, params and label (the id and position live on the Node). */
export type NodeData = {
  /** Node type from the registry: dataset, augment, backbone, … */
  nodeType: string;
  params: Record<string, unknown>;
  label?: string;
};

/** Every canvas node is drawn by the one registry-driven component registered as 'pipeline'. */
export type PipelineNode = Node<NodeData, 'pipeline'>;
export type PipelineEdge = Edge;

/** What is being edited, and where Save writes it. */
export interface EditorDoc {
  name: string;
  productLineId: string | null;
  pipelineId: string | null;
  templateId: string | null;
  templateVersionId: string | null;
}

export const EMPTY_DOC: EditorDoc = {
  name: 'Untitled pipeline',
  productLineId: null,
  pipelineId: null,
  templateId: null,
  templateVersionId: null,
};

/** One entry of the run-state overlay (the shape useNodeStates returns). */
export interface NodeRunState {
  state: 'queued' | 'running' | 'cached' | 'done' | 'failed' | 'cancelled';
  progress?: number;
  message?: string;
}
