/** Machine codes of graph problems. The editor, the web API, the runner and the CLI all speak these. */
export const GRAPH_ERROR_CODES = [
  'invalid_json',
  'invalid_graph',
  /** A node or edge id outside SAFE_ID_PATTERN (ids name files and URLs). */
  'invalid_id',
  /** More nodes/edges, or longer strings, than GRAPH_LIMITS allows. */
  'graph_too_large',
  'empty_graph',
  'duplicate_node_id',
  'duplicate_edge_id',
  'unknown_node_type',
  'param_invalid',
  'dangling_edge',
  'unknown_port',
  'self_loop',
  'port_type_mismatch',
  'multiple_edges_into_input',
  'required_input_missing',
  'cycle',
  'no_terminal_node',
] as const;
export type GraphErrorCode = (typeof GRAPH_ERROR_CODES)[number];

export interface GraphError {
  code: GraphErrorCode;
  /** Human sentence naming the node (label, or type + id) and the field or port. */
  message: string;
  nodeId?: string;
  edgeId?: string;
  /** Param path joined with '.' (param_invalid) or graph path (invalid_graph). */
  field?: string;
  /** Handle id (unknown_port, port_type_mismatch, multiple_edges_into_input, required_input_missing). */
  port?: string;
  /** cycle: the node ids around the cycle, in edge order. */
  nodeIds?: string[];
}

/** nodeId → its errors, for painting the canvas. A cycle error is listed under every node on the cycle. */
export function errorsByNode(errors: readonly GraphError[]): Record<string, GraphError[]> {
  const map: Record<string, GraphError[]> = {};
  for (const error of errors) {
    const ids = new Set<string>(error.nodeIds ?? []);
    if (error.nodeId !== undefined) ids.add(error.nodeId);
    for (const id of ids) (map[id] ??= []).push(error);
  }
  return map;
}

/** How messages name a node: its label when the user gave one, otherwise its type and id. */
export function nodeName(node: { id: string; type: string; label?: string | undefined }): string {
  return node.label ? `"${node.label}" (${node.type} ${node.id})` : `${node.type} node "${node.id}"`;
}
