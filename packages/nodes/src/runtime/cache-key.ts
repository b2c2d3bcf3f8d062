import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.ts';
import type { NodeDefinition } from '../definition.ts';
import type { PipelineGraph } from '../graph.ts';
import { topologicalOrder } from '../graph-algorithms.ts';

/** Bump when the meaning of cached outputs changes, so old on-disk caches are not reused. */
const CACHE_KEY_VERSION = 'defectflow-cache-v1';

export { canonicalJson };

/**
 * Cache key of every node: hash(type + resolved params + the keys of its inputs' source nodes,
 * in the definition's input-port order). Changing a node changes its key and every key downstream,
 * and nothing upstream. Expects a validated graph; `resolvedParams` has defaults applied.
 */
export function computeCacheKeys(
  graph: PipelineGraph,
  definitions: readonly NodeDefinition[],
  resolvedParams: ReadonlyMap<string, Record<string, unknown>>,
): Map<string, string> {
  const keys = new Map<string, string>();
  const order = topologicalOrder(
    graph.nodes.map((n) => n.id),
    graph.edges,
  );
  for (const id of order) {
    const node = graph.nodes.find((n) => n.id === id);
    const def = definitions.find((d) => d.type === node?.type);
    if (!node || !def) continue;
    const inputs = def.inputs.map((port) => {
      const edge = graph.edges.find((e) => e.target === id && e.targetHandle === port.name);
      return edge ? [port.name, keys.get(edge.source) ?? null, edge.sourceHandle] : [port.name, null];
    });
    const material = canonicalJson({ v: CACHE_KEY_VERSION, type: node.type, params: resolvedParams.get(id) ?? {}, inputs });
    keys.set(id, createHash('sha256').update(material).digest('hex'));
  }
  return keys;
}
