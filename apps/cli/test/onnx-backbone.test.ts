import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resnetFixtureOnnx } from '@defectflow/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, runCli } from './run-cli.ts';


let work: string;
let datasetDir: string;

const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(work, args, extraEnv);

/** The shipped default template with its backbone node naming an ONNX file of the backbone library. */
async function onnxPipeline(backbone: Record<string, unknown>): Promise<string> {
  const graph = JSON.parse(await readFile(EXAMPLE, 'utf8'));
  for (const node of graph.nodes) {
    if (node.type === 'backbone') Object.assign(node.params, { source: 'onnx', onnxFile: 'resnet-tiny.onnx', ...backbone });
    if (node.type === 'train') Object.assign(node.params, { epochs: 5, batchSize: 16 });
    if (node.type === 'augment') Object.assign(node.params, { copies: 1 });
  }
  const file = path.join(work, `onnx-${Object.values(backbone).join('-')}.json`);
  await writeFile(file, JSON.stringify(graph));
  return file;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'defectflow-cli-onnx-'));
  datasetDir = path.join(work, 'steel');
  await mkdir(path.join(work, 'data', 'backbones'), { recursive: true });
  await writeFile(path.join(work, 'data', 'backbones', 'resnet-tiny.onnx'), resnetFixtureOnnx({ size: 64 }));
  const sample = await cli(['sample-data', datasetDir, '--per-class', '8', '--size', '64']);
  expect(sample.code, sample.stderr).toBe(0);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('defectflow CLI with an ONNX backbone', () => {
  it('runs a graph naming the ONNX file, deploys model.onnx alone, and predicts with it', async () => {
    const result = await cli(['run', await onnxPipeline({ onnxCut: 'layer2' }), '--dataset', datasetDir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.status).toBe('succeeded');
    expect(report.metrics.confusion).toHaveLength(6);
    const modelDir = report.deployment.dir as string;
    expect((await readdir(modelDir)).sort()).toEqual(['defectflow.json', 'model.onnx']);
    const meta = JSON.parse(await readFile(path.join(modelDir, 'defectflow.json'), 'utf8'));
    expect(meta).toMatchObject({ runtime: 'onnx', inputSize: 64, backbone: { source: 'onnx', cutAt: 'layer2' } });
    expect(meta.backbone.description).toMatch(/ONNX backbone resnet-tiny\.onnx .*cut at layer2 → 16×8×8/);
    const images = [path.join(datasetDir, 'scratches', 'scratches_1.png'), path.join(datasetDir, 'patches', 'patches_1.png')];
    const predicted = await cli(['predict', modelDir, ...images, '--json']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const predictions = JSON.parse(predicted.stdout) as { label: string; probabilities: Record<string, number> }[];
    expect(predictions).toHaveLength(2);
    for (const p of predictions) {
      expect(Object.values(p.probabilities).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(Object.keys(p.probabilities)).toContain(p.label);
    }
  });

  it('fails with the node and the missing cut point named', async () => {
    const result = await cli(['run', await onnxPipeline({ onnxCut: 'layer7' }), '--dataset', datasetDir]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/backbone/i);
    expect(result.stderr).toMatch(/no 4-D feature map named "layer7" \(cut point\); try one of .*layer3/);
  });
});
