import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultPipeline } from '../src/default-pipeline.ts';
import { datasetParams, nodeDefinitions } from '../src/nodes/index.ts';
import type { RunEventBody } from '../src/events.ts';
import { execute } from '../src/runtime/executor.ts';
import { quietContext, tempRunDirs } from './helpers/temp-run-dirs.ts';
import { nodeRunFunctions } from '../src/runtime/run-functions.ts';
import { runDataset } from '../src/nodes/dataset/run.ts';
import { NodeError, type NodeRunContext } from '../src/runtime/types.ts';

let dirs: NodeRunContext['dirs'];

beforeAll(async () => {
  dirs = await tempRunDirs('df-run-');
  await generateSampleDataset(path.join(dirs.datasetsRoot, 'sample-steel'), { perClass: 8, size: 64, seed: 2 });
});

afterAll(async () => {
  await fs.rm(dirs.dataDir, { recursive: true, force: true });
});

/** The default template, shrunk so it runs in seconds on a CPU. */
function smallPipeline() {
  const graph = createDefaultPipeline();
  for (const node of graph.nodes) {
    if (node.type === 'backbone') node.params = { ...node.params, inputSize: 64, cutAt: 'block_6_expand_relu' };
    if (node.type === 'train') node.params = { ...node.params, epochs: 4 };
    if (node.type === 'dataset') node.params = { ...node.params, valRatio: 0.25, testRatio: 0.25 };
  }
  return graph;
}

describe('engine-backed node run functions', () => {
  it('has one run function per node type of the catalogue, bound to its definition', () => {
    // The compiler already refuses a missing one (run-functions.ts); this checks the runtime object agrees.
    expect(Object.entries(nodeRunFunctions).map(([type, fn]) => [type, fn.nodeType])).toEqual(nodeDefinitions.map((d) => [d.type, d.type]));
  });

  it('runs the default pipeline end to end: progress, epochs, metrics and a deployed model', async () => {
    const events: RunEventBody[] = [];
    const result = await execute({ runId: 'run-abc', graph: smallPipeline(), sink: (e) => events.push(e), dirs }, nodeRunFunctions);
    expect(result.failed).toBeUndefined();
    expect(result.status).toBe('succeeded');
    const epochs = events.filter((e) => e.type === 'train.epoch');
    expect(epochs.length).toBeGreaterThan(0);
    expect(epochs[0]).toMatchObject({ nodeId: 'train', epoch: 1, epochs: 4 });
    expect(events.some((e) => e.type === 'train.batch')).toBe(true);
    expect(events.some((e) => e.type === 'node.progress' && e.phase.startsWith('features'))).toBe(true);
    const metrics = result.outputs.evaluate?.metrics as { accuracy: number; confusion: number[][] };
    expect(metrics.confusion.length).toBe(6);
    const deployment = result.outputs.deploy?.deployment as { modelId: string; dir: string };
    expect(deployment.dir.startsWith(dirs.modelsDir)).toBe(true);
    expect((await fs.readdir(deployment.dir)).sort()).toEqual(['defectflow.json', 'drift.bin', 'model.json', 'model.onnx', 'weights.bin']);
  });

  it('deploy refuses a model below the quality gate with code gate_not_met', async () => {
    const ctx = quietContext(dirs, 'deploy');
    const trained = { head: {}, history: [] };
    const metrics = { accuracy: 0.5, macroF1: 0.4, confusion: [] };
    const run = nodeRunFunctions.deploy({ trained, metrics }, { name: 'm', gateMetric: 'accuracy', gateMin: 0.9 }, ctx);
    await expect(run).rejects.toThrow(NodeError);
    await expect(run).rejects.toMatchObject({ code: 'gate_not_met' });
  });

  it('deploy with gateBaseline refuses a model that does not beat the majority answer by the margin', async () => {
    const ctx = quietContext(dirs, 'deploy');
    const trained = { head: {}, history: [] };
    const baseline = { className: 'good', accuracy: 0.71, macroF1: 0.14 };
    const gate = { name: 'm', gateMetric: 'none', gateBaseline: true, baselineMargin: 0.05 };
    const close = nodeRunFunctions.deploy({ trained, metrics: { accuracy: 0.74, macroF1: 0.5, confusion: [], baseline } }, gate, ctx);
    await expect(close).rejects.toMatchObject({
      code: 'gate_not_met',
      message: expect.stringMatching(/74\.0 % does not beat always answering 'good' \(71\.0 %\) by the required 5\.0 points/),
    });
    await expect(nodeRunFunctions.deploy({ trained }, gate, ctx)).rejects.toMatchObject({ code: 'gate_not_met', message: expect.stringMatching(/metrics input/) });
    // 0.76 clears 0.71 + 0.05: the gate lets it through to the export (which this stub model then fails).
    const clears = nodeRunFunctions.deploy({ trained, metrics: { accuracy: 0.76, macroF1: 0.5, confusion: [], baseline } }, gate, ctx);
    await expect(clears).rejects.not.toMatchObject({ code: 'gate_not_met' });
  });

  it('a dataset path outside DATASETS_ROOT fails with a clear code', async () => {
    const ctx = quietContext(dirs, 'dataset');
    // The schema refuses it before the run function sees it…
    await expect(nodeRunFunctions.dataset({}, { path: '../../etc' }, ctx)).rejects.toMatchObject({ name: 'NodeError', code: 'param_invalid' });
    // …and the run function, handed it anyway (a graph that never went through the schema), still refuses it.
    const run = runDataset({}, { ...datasetParams.parse({}), path: '../../etc' }, ctx);
    await expect(run).rejects.toMatchObject({ name: 'NodeError', code: 'path_outside_root' });
  });
});
