import { type PipelineGraph, canConnect } from '@defectflow/nodes';
import type { Connection } from '@xyflow/react';

/**
 * Why the canvas must refuse `connection` (port type mismatch, a second edge into one input, a cycle…),
 * or null when it is allowed. The rule itself lives in @defectflow/nodes so the validator agrees with the canvas.
 */
export function checkConnection(graph: PipelineGraph, connection: Connection): string | null {
  const result = canConnect(graph, {
    source: connection.source,
    sourceHandle: connection.sourceHandle ?? '',
    target: connection.target,
    targetHandle: connection.targetHandle ?? '',
  });
  return result.ok ? null : result.message;
}
