import type { PipelineGraph } from './graph.ts';
import { defaultParams } from './registry.ts';

/**
 * The default template: dataset → augment → train; backbone → freeze → head → train;
 * train → evaluate (on the original, un-augmented dataset); train + evaluate → deploy.
 * examples/default-pipeline.json at the repo root is this graph (a test keeps them equal).
 */
export function createDefaultPipeline(): PipelineGraph {
  const node = (id: string, type: string, x: number, y: number) => ({
    id,
    type,
    params: defaultParams(type),
    position: { x, y },
  });
  const edge = (source: string, sourceHandle: string, target: string, targetHandle: string) => ({
    id: `${source}-${target}`,
    source,
    sourceHandle,
    target,
    targetHandle,
  });
  return {
    version: 1,
    nodes: [
      { ...node('dataset', 'dataset', 0, 0), params: { ...defaultParams('dataset'), path: 'sample-steel' } },
      node('augment', 'augment', 320, 0),
      node('backbone', 'backbone', 0, 320),
      node('freeze', 'freeze', 320, 320),
      node('head', 'head', 640, 320),
      node('train', 'train', 960, 160),
      node('evaluate', 'evaluate', 1280, 0),
      node('deploy', 'deploy', 1600, 160),
    ],
    edges: [
      edge('dataset', 'dataset', 'augment', 'dataset'),
      edge('augment', 'dataset', 'train', 'dataset'),
      edge('backbone', 'backbone', 'freeze', 'backbone'),
      edge('freeze', 'backbone', 'head', 'backbone'),
      edge('head', 'model', 'train', 'model'),
      edge('train', 'trained', 'evaluate', 'trained'),
      edge('dataset', 'dataset', 'evaluate', 'dataset'),
      edge('train', 'trained', 'deploy', 'trained'),
      edge('evaluate', 'metrics', 'deploy', 'metrics'),
    ],
  };
}
