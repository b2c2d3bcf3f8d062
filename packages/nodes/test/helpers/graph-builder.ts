import type { GraphEdge, GraphNode, PipelineGraph } from '../../src/index.ts';

/** Builds graphs for tests: `b.node('dataset')` returns the id, `b.connect(a, 'dataset', b, 'dataset')` wires. */
export class GraphBuilder {
  private readonly nodes: GraphNode[] = [];
  private readonly edges: GraphEdge[] = [];
  private counter = 0;

  node(type: string, params: Record<string, unknown> = {}, id = `${type}${++this.counter}`, label?: string): string {
    this.nodes.push({ id, type, params, position: { x: this.nodes.length * 100, y: 0 }, ...(label ? { label } : {}) });
    return id;
  }

  connect(source: string, sourceHandle: string, target: string, targetHandle: string, id?: string): string {
    const edgeId = id ?? `e${this.edges.length + 1}`;
    this.edges.push({ id: edgeId, source, sourceHandle, target, targetHandle });
    return edgeId;
  }

  build(): PipelineGraph {
    return { version: 1, nodes: structuredClone(this.nodes), edges: structuredClone(this.edges) };
  }
}

/** The standard 8-node pipeline, with per-node param overrides; node ids are the types. */
export function pipeline(params: Partial<Record<string, Record<string, unknown>>> = {}): PipelineGraph {
  const b = new GraphBuilder();
  for (const type of ['dataset', 'augment', 'backbone', 'freeze', 'head', 'train', 'evaluate', 'deploy']) {
    b.node(type, params[type] ?? {}, type);
  }
  b.connect('dataset', 'dataset', 'augment', 'dataset');
  b.connect('augment', 'dataset', 'train', 'dataset');
  b.connect('backbone', 'backbone', 'freeze', 'backbone');
  b.connect('freeze', 'backbone', 'head', 'backbone');
  b.connect('head', 'model', 'train', 'model');
  b.connect('train', 'trained', 'evaluate', 'trained');
  b.connect('dataset', 'dataset', 'evaluate', 'dataset');
  b.connect('train', 'trained', 'deploy', 'trained');
  b.connect('evaluate', 'metrics', 'deploy', 'metrics');
  return b.build();
}
