/**
 * What deployed models are called: a deploy node left at its default name ("defect-model") takes the name of
 * the pipeline or template it ran from, so models of different pipelines can be told apart; and the file name
 * of a model's archive.
 */
import type { PipelineGraph } from '@defectflow/nodes';

/** The deploy node's default `name` param: a run that keeps it gets its source's name instead. */
export const DEFAULT_MODEL_NAME = 'defect-model';

/** `name` in the characters the deploy node accepts (letters, digits, space, _ . -), at most 64; '' when none are left. */
export function modelNameFrom(name: string): string {
  return name
    .replace(/[^A-Za-z0-9 _.-]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 64)
    .trim();
}

/** The graph with each default-named deploy node named after `sourceName` (unchanged when there is no usable name). */
export function nameDeployNodes(graph: PipelineGraph, sourceName: string | null | undefined): PipelineGraph {
  const name = sourceName ? modelNameFrom(sourceName) : '';
  if (!name) return graph;
  let changed = false;
  const nodes = graph.nodes.map((node) => {
    if (node.type !== 'deploy') return node;
    const current = node.params?.name;
    if (current !== undefined && current !== DEFAULT_MODEL_NAME) return node;
    changed = true;
    return { ...node, params: { ...node.params, name } };
  });
  return changed ? { ...graph, nodes } : graph;
}

/** A model's short id: its run's first 8 characters (model ids repeat the name), else the id's last 8. */
export function shortModelId(model: { id: string; runId: string | null }): string {
  return model.runId ? model.runId.slice(0, 8) : model.id.slice(-8);
}

/** `<model-name>-<short id>`: the archive's file name (without .tar.gz) and its top folder. */
export function archiveBaseName(model: { id: string; name: string; runId: string | null }): string {
  const slug = model.name.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^-+|-+$/g, '') || 'model';
  return `${slug.slice(0, 100)}-${shortModelId(model)}`;
}
