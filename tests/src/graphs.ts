import type { PipelineGraph } from '@defectflow/nodes';

export interface TinyGraphOptions {
  /** Dataset node params; `path` is the dataset's folder under DATASETS_ROOT. */
  dataset: Record<string, unknown> & { path: string };
  head?: Record<string, unknown>;
  train?: Record<string, unknown>;
  freeze?: Record<string, unknown>;
  /** Deploy node params, or false for a pipeline that ends at evaluate. */
  deploy?: Record<string, unknown> | false;
}

/**
 * The transfer pipeline shrunk so an end-to-end run takes seconds: 64 px input, an early MobileNetV2 cut,
 * no augmentation. Tests pass the params they care about.
 */
export function tinyTransferGraph(options: TinyGraphOptions): PipelineGraph {
  const node = (id: string, params: Record<string, unknown>, x: number, y = 0) => ({ id, type: id, params, position: { x, y } });
  const edge = (source: string, sourceHandle: string, target: string, targetHandle: string) => ({
    id: `${source}-${target}-${targetHandle}`,
    source,
    sourceHandle,
    target,
    targetHandle,
  });
  const graph: PipelineGraph = {
    version: 1,
    nodes: [
      node('dataset', options.dataset, 0),
      node('backbone', { source: 'mobilenet_v2', inputSize: 64, cutAt: 'block_6_expand_relu' }, 0, 220),
      node('freeze', options.freeze ?? { mode: 'all' }, 280, 220),
      node('head', options.head ?? {}, 560, 220),
      node('train', options.train ?? {}, 840),
      node('evaluate', { split: 'test' }, 1120),
    ],
    edges: [
      edge('backbone', 'backbone', 'freeze', 'backbone'),
      edge('freeze', 'backbone', 'head', 'backbone'),
      edge('dataset', 'dataset', 'train', 'dataset'),
      edge('head', 'model', 'train', 'model'),
      edge('train', 'trained', 'evaluate', 'trained'),
      edge('dataset', 'dataset', 'evaluate', 'dataset'),
    ],
  };
  if (options.deploy !== false) {
    graph.nodes.push(node('deploy', options.deploy ?? {}, 1400, 220));
    graph.edges.push(edge('train', 'trained', 'deploy', 'trained'), edge('evaluate', 'metrics', 'deploy', 'metrics'));
  }
  return graph;
}
