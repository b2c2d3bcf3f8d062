import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backboneNode } from './definition.ts';
import { createDefaultPipeline } from '../../default-pipeline.ts';
import { execute } from '../../runtime/executor.ts';
import { tempRunDirs } from '../../../test/helpers/temp-run-dirs.ts';
import { nodeRunFunctions } from '../../runtime/run-functions.ts';
import type { NodeRunContext } from '../../runtime/types.ts';

describe('backbone definition', () => {
  it('parses {} to the agreed defaults', () => {
    expect(backboneNode.params.parse({})).toEqual({
      source: 'mobilenet_v2',
      inputSize: 160,
      fit: 'stretch',
      maxTiles: 4,
      cutAt: 'block_13_expand_relu',
      modelPath: '',
      customLayer: '',
      onnxFile: '',
      onnxCut: '',
      onnxLayout: 'auto',
      onnxNormalization: 'auto',
      seed: 42,
    });
  });

  it('needs a model folder for a custom backbone and bounds the input size', () => {
    expect(backboneNode.params.safeParse({ source: 'custom' }).success).toBe(false);
    expect(backboneNode.params.safeParse({ source: 'custom', modelPath: 'models/mine' }).success).toBe(true);
    expect(backboneNode.params.safeParse({ inputSize: 16 }).success).toBe(false);
    expect(backboneNode.params.safeParse({ cutAt: 'block_2' }).success).toBe(false);
    expect(backboneNode.params.safeParse({ fit: 'crop' }).success).toBe(false);
    expect(backboneNode.params.safeParse({ fit: 'tiles', maxTiles: 1 }).success).toBe(false);
  });

  it('is a source node with one Backbone output', () => {
    expect(backboneNode.inputs).toEqual([]);
    expect(backboneNode.outputs.map((p) => [p.name, p.type])).toEqual([['backbone', 'Backbone']]);
  });
});

describe('backbone run', () => {
  let dirs: NodeRunContext['dirs'];

  beforeAll(async () => {
    dirs = await tempRunDirs('df-fit-node-');
    await generateSampleDataset(path.join(dirs.datasetsRoot, 'sample-steel'), { perClass: 6, size: 48, seed: 2 });
  });

  afterAll(async () => {
    await fs.rm(dirs.dataDir, { recursive: true, force: true });
  });

  describe('backbone fit param', () => {
    it('reaches the engine backbone and the deployed defectflow.json', async () => {
      const graph = createDefaultPipeline();
      for (const node of graph.nodes) {
        if (node.type === 'backbone') node.params = { ...node.params, inputSize: 48, cutAt: 'block_3_expand_relu', fit: 'tiles', maxTiles: 3 };
        if (node.type === 'train') node.params = { ...node.params, epochs: 2 };
        if (node.type === 'dataset') node.params = { ...node.params, valRatio: 0.25, testRatio: 0.25 };
      }
      const result = await execute({ runId: 'run-fit', graph, sink: () => {}, dirs }, nodeRunFunctions);
      expect(result.status).toBe('succeeded');
      const backbone = result.outputs.backbone?.backbone as { fit: { fit: string; maxTiles: number } };
      expect(backbone.fit).toEqual({ fit: 'tiles', maxTiles: 3 });
      const deployment = result.outputs.deploy?.deployment as { dir: string };
      const meta = JSON.parse(await fs.readFile(path.join(deployment.dir, 'defectflow.json'), 'utf8'));
      expect(meta.preprocessing).toMatchObject({ fit: 'tiles', maxTiles: 3 });
    });
  });
});
