import type { GraphError } from './errors.ts';
import type { PipelineGraph } from './graph.ts';
import { PipelineGraphSchema } from './graph.ts';
import { checkShape } from './validate.ts';

export type ParseGraphResult =
  | { ok: true; graph: PipelineGraph; errors: [] }
  | { ok: false; /** The first problem, for one-line reports. */ error: GraphError; errors: GraphError[] };

/**
 * Reads a graph file's text: JSON syntax, version and PipelineGraph v1 shape. Never throws.
 * It does not check wiring or params — call validateGraph on the result for that (the editor
 * loads a shape-valid graph even when it still has wiring errors, to show them on the canvas).
 */
export function parseGraphJson(text: string): ParseGraphResult {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const error: GraphError = { code: 'invalid_json', message: `The graph is not valid JSON: ${jsonErrorText(text, err)}.` };
    return { ok: false, error, errors: [error] };
  }
  const errors = checkShape(value);
  const [first] = errors;
  if (first) return { ok: false, error: first, errors };
  return { ok: true, graph: PipelineGraphSchema.parse(value), errors: [] };
}

/** "Unexpected token } in JSON at position 42" → adds "(line 3, column 7)". */
function jsonErrorText(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const match = /position (\d+)/.exec(message);
  if (!match || typeof text !== 'string') return message;
  const position = Number(match[1]);
  const before = text.slice(0, position).split('\n');
  const line = before.length;
  const column = (before[before.length - 1]?.length ?? 0) + 1;
  return `${message} (line ${line}, column ${column})`;
}
