import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import { resnetFixtureOnnx } from '@defectflow/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backboneNode } from './definition.ts';
import { createDefaultPipeline } from '../../default-pipeline.ts';
import type { PipelineGraph } from '../../graph.ts';
import { execute } from '../../runtime/executor.ts';
import { createOutputCache } from '../../runtime/output-cache.ts';
import { nodeRunFunctions } from '../../runtime/run-functions.ts';
import type { NodeRunContext } from '../../runtime/types.ts';
import { validateGraph } from '../../validate.ts';
import { tempRunDirs } from '../../../test/helpers/temp-run-dirs.ts';

/** The default template with its backbone switched to the ONNX fixture (and small enough to run in seconds). */
function onnxPipeline(backbone: Record<string, unknown>, freeze: Record<string, unknown> = {}): PipelineGraph {
  const graph = createDefaultPipeline();
  for (const node of graph.nodes) {
    if (node.type === 'backbone') node.params = { ...node.params, source: 'onnx', onnxFile: 'resnet-tiny.onnx', ...backbone };
    if (node.type === 'freeze') node.params = { ...node.params, ...freeze };
    if (node.type === 'train') node.params = { ...node.params, epochs: 2 };
    if (node.type === 'dataset') node.params = { ...node.params, valRatio: 0.25, testRatio: 0.25 };
  }
  return graph;
}

describe('backbone source "onnx": definition and validation', () => {
  it('needs the ONNX file', () => {
    const missing = backboneNode.params.safeParse({ source: 'onnx' });
    expect(missing.success).toBe(false);
    expect(missing.error?.issues[0]?.path).toEqual(['onnxFile']);
    expect(backboneNode.params.safeParse({ source: 'onnx', onnxFile: 'resnet50.onnx', onnxLayout: 'NCHW', onnxNormalization: 'imagenet' }).success).toBe(true);
    expect(backboneNode.params.safeParse({ source: 'onnx', onnxFile: 'r.onnx', onnxLayout: 'CHW' }).success).toBe(false);
  });

  it('rejects fine-tuning an ONNX backbone, naming the Freeze node and its mode', () => {
    const result = validateGraph(onnxPipeline({}, { mode: 'staged' }));
    expect(result.ok).toBe(false);
    const error = result.errors.find((e) => e.nodeId === 'freeze');
    expect(error).toMatchObject({ code: 'param_invalid', field: 'mode' });
    expect(error?.message).toMatch(/frozen-only; use mode "all"/);
    expect(validateGraph(onnxPipeline({})).ok).toBe(true);
  });
});

describe('backbone source "onnx": run', () => {
  let dirs: NodeRunContext['dirs'];

  beforeAll(async () => {
    dirs = await tempRunDirs('df-onnx-node-');
    await generateSampleDataset(path.join(dirs.datasetsRoot, 'sample-steel'), { perClass: 6, size: 48, seed: 2 });
    await fs.mkdir(path.join(dirs.dataDir, 'backbones'), { recursive: true });
    await fs.writeFile(path.join(dirs.dataDir, 'backbones', 'resnet-tiny.onnx'), resnetFixtureOnnx({ size: 64 }));
    await fs.writeFile(path.join(dirs.dataDir, 'outside.onnx'), resnetFixtureOnnx({ size: 64 }));
  });

  afterAll(async () => {
    await fs.rm(dirs.dataDir, { recursive: true, force: true });
  });

  it('runs the default template on the imported graph cut at layer3 and deploys one ONNX model', async () => {
    const result = await execute({ runId: 'run-onnx', graph: onnxPipeline({ onnxCut: 'layer3' }), sink: () => {}, dirs }, nodeRunFunctions);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(result.summaries.backbone).toMatchObject({ source: 'onnx', cutAt: 'layer3', featureShape: [4, 4, 32], inputSize: 64, layout: 'NCHW', normalization: 'imagenet' });
    expect(result.summaries.backbone?.params).toBeGreaterThan(10_000);
    expect(typeof result.summaries.evaluate?.accuracy).toBe('number');
    const deployment = result.outputs.deploy?.deployment as { dir: string };
    expect((await fs.readdir(deployment.dir)).sort()).toEqual(['defectflow.json', 'model.onnx']);
    const meta = JSON.parse(await fs.readFile(path.join(deployment.dir, 'defectflow.json'), 'utf8'));
    expect(meta).toMatchObject({ runtime: 'onnx', backbone: { source: 'onnx', cutAt: 'layer3' } });
  });

  it('an edited sidecar (the backbones page saves settings there) is read again, not answered from the output cache', async () => {
    const cache = createOutputCache();
    const graph = onnxPipeline({ onnxCut: 'layer3' });
    const run = (runId: string) => execute({ runId, graph, sink: () => {}, dirs, cache }, nodeRunFunctions);
    expect((await run('cache-1')).status).toBe('succeeded');
    const again = await run('cache-2');
    expect(again.cached).toContain('backbone');
    await fs.writeFile(path.join(dirs.dataDir, 'backbones', 'resnet-tiny.onnx.json'), JSON.stringify({ normalization: 'unit' }));
    try {
      const edited = await run('cache-3');
      expect(edited.status).toBe('succeeded');
      expect(edited.cached).not.toContain('backbone');
      expect(edited.summaries.backbone).toMatchObject({ normalization: 'unit' });
    } finally {
      await fs.rm(path.join(dirs.dataDir, 'backbones', 'resnet-tiny.onnx.json'), { force: true });
    }
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['a file outside the backbone library', { onnxFile: '../outside.onnx' }, /onnxFile "\.\.\/outside\.onnx" is not inside the backbone library/],
    ['a missing file', { onnxFile: 'resnet-50.onnx' }, /onnxFile "resnet-50\.onnx": no such file in the backbone library/],
    ['a cut point the graph lacks', { onnxCut: 'layer4' }, /no 4-D feature map named "layer4" \(cut point\)/],
  ];
  for (const [what, params, message] of bad) {
    it(`fails the Backbone node with a clear error for ${what}`, async () => {
      const result = await execute({ runId: `run-bad-${what.length}`, graph: onnxPipeline(params), sink: () => {}, dirs }, nodeRunFunctions);
      expect(result.status).toBe('failed');
      expect(result.failed?.nodeId).toBe('backbone');
      expect(result.failed?.message).toMatch(message);
    });
  }
});
