import { z } from 'zod';

/**
 * Node and edge ids become file names (models/<slug>-<run>-<nodeId>, runs/<id>/metrics-<nodeId>.json),
 * URL segments and cache keys, so they are plain names: no separators, dots, spaces or NULs.
 */
export const SAFE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Size limits of one graph; past them the graph is refused with code graph_too_large before anything runs. */
export const GRAPH_LIMITS = {
  nodes: 200,
  edges: 1000,
  /** Node type, port (handle) names. */
  nameLength: 64,
  labelLength: 200,
  /** Any string inside a node's params (paths, names, model URLs). */
  paramStringLength: 4096,
  paramKeys: 100,
} as const;

/** checkShape reads `params.graphCode` to give these issues their own machine code. */
function safeId(what: string) {
  return z.string().refine((v) => SAFE_ID_PATTERN.test(v), {
    error: (issue) =>
      `${what} ${JSON.stringify(issue.input)} is not allowed: use 1-64 letters, digits, "_" or "-" (ids name files and URLs)`,
    params: { graphCode: 'invalid_id' },
  });
}

const name = (what: string) =>
  z.string().min(1).max(GRAPH_LIMITS.nameLength, `${what} is longer than ${GRAPH_LIMITS.nameLength} characters`);

/** Every string anywhere inside params stays under the limit (nested values included). */
function longParamStrings(value: unknown, path: (string | number)[], out: (string | number)[][], depth = 0): void {
  if (typeof value === 'string') {
    if (value.length > GRAPH_LIMITS.paramStringLength) out.push(path);
  } else if (value !== null && typeof value === 'object' && depth < 16) {
    for (const [k, v] of Object.entries(value)) longParamStrings(v, [...path, k], out, depth + 1);
  }
}

const ParamsSchema = z
  .record(z.string(), z.unknown())
  .superRefine((params, ctx) => {
    const keys = Object.keys(params).length;
    if (keys > GRAPH_LIMITS.paramKeys) {
      const message = `${keys} params, more than ${GRAPH_LIMITS.paramKeys}`;
      ctx.addIssue({ code: 'too_big', origin: 'object', maximum: GRAPH_LIMITS.paramKeys, input: params, message });
    }
    const long: (string | number)[][] = [];
    longParamStrings(params, [], long);
    for (const path of long.slice(0, 10)) {
      ctx.addIssue({
        code: 'too_big',
        origin: 'string',
        maximum: GRAPH_LIMITS.paramStringLength,
        input: undefined,
        path,
        message: `the text is longer than ${GRAPH_LIMITS.paramStringLength} characters`,
      });
    }
  });

/** PipelineGraph v1 — the one format the editor saves, the CLI runs and the runner executes. */
export const GraphNodeSchema = z.object({
  id: safeId('Node id'),
  type: name('The node type'),
  params: ParamsSchema.default({}),
  position: z.object({ x: z.number(), y: z.number() }).default({ x: 0, y: 0 }),
  /** Free-form label the user gave the node; not used by the executor. */
  label: z.string().max(GRAPH_LIMITS.labelLength, `the label is longer than ${GRAPH_LIMITS.labelLength} characters`).optional(),
});

export const GraphEdgeSchema = z.object({
  id: safeId('Edge id'),
  source: safeId('Source node id'),
  sourceHandle: name('The source handle'),
  target: safeId('Target node id'),
  targetHandle: name('The target handle'),
});

export const PipelineGraphSchema = z.object({
  version: z.literal(1),
  nodes: z.array(GraphNodeSchema).max(GRAPH_LIMITS.nodes, `a pipeline holds at most ${GRAPH_LIMITS.nodes} nodes`),
  edges: z.array(GraphEdgeSchema).max(GRAPH_LIMITS.edges, `a pipeline holds at most ${GRAPH_LIMITS.edges} edges`).default([]),
});

export type GraphNode = z.infer<typeof GraphNodeSchema>;
export type GraphEdge = z.infer<typeof GraphEdgeSchema>;
export type PipelineGraph = z.infer<typeof PipelineGraphSchema>;
