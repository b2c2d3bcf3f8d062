import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { PipelineGraph } from '@defectflow/nodes';
import { nodeRunFunctions } from '@defectflow/nodes/runtime';
import { afterAll, describe, expect, it } from 'vitest';
import { createRunnerServer } from '../src/server.ts';
import { client, collectRun, finishedStatus, TOKEN, tempDir } from './helpers.ts';

/** Loosely typed: the engine's sample generator is looked up at run time. */
interface EngineSample {
  generateSampleDataset?: (
    dir: string,
    opts: { perClass?: number; size?: number; seed?: number; classes?: readonly string[] },
  ) => Promise<unknown>;
  STEEL_DEFECT_CLASSES?: readonly string[];
}

/**
 * One real run through the runner with the engine-backed node functions: a tiny generated dataset,
 * MobileNetV2 cut early at input 64, two epochs. Proves the runner streams what real training emits.
 */
describe('runner with the real node functions', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());

  it('trains a tiny model and streams train.epoch events', async () => {
    expect(Object.keys(nodeRunFunctions), 'the engine-backed node run functions are registered').toEqual(
      expect.arrayContaining(['dataset', 'backbone', 'head', 'train']),
    );
    const engine = (await import('@defectflow/engine')) as EngineSample;
    expect(typeof engine.generateSampleDataset, 'the engine can generate sample data').toBe('function');

    const datasetsRoot = path.join(tmp.dir, 'datasets');
    mkdirSync(datasetsRoot, { recursive: true });
    const classes = (engine.STEEL_DEFECT_CLASSES ?? []).slice(0, 2);
    await engine.generateSampleDataset?.(path.join(datasetsRoot, 'tiny'), { perClass: 10, size: 64, seed: 3, classes });

    const server = await createRunnerServer({
      port: 0,
      host: '127.0.0.1',
      token: TOKEN,
      dataDir: tmp.dir,
      datasetsRoot,
      backend: 'auto',
      log: () => {},
    });
    const c = client(server.url);
    try {
      const graph: PipelineGraph = {
        version: 1,
        nodes: [
          { id: 'data', type: 'dataset', params: { path: 'tiny', valRatio: 0.2, testRatio: 0.2 }, position: { x: 0, y: 0 } },
          {
            id: 'bb',
            type: 'backbone',
            params: { source: 'mobilenet_v2', inputSize: 64, cutAt: 'block_3_expand_relu' },
            position: { x: 0, y: 0 },
          },
          { id: 'head', type: 'head', params: { hidden: 0 }, position: { x: 0, y: 0 } },
          {
            id: 'train',
            type: 'train',
            params: { epochs: 2, batchSize: 8, earlyStopping: false },
            position: { x: 0, y: 0 },
          },
        ],
        edges: [
          { id: 'e1', source: 'bb', sourceHandle: 'backbone', target: 'head', targetHandle: 'backbone' },
          { id: 'e2', source: 'data', sourceHandle: 'dataset', target: 'train', targetHandle: 'dataset' },
          { id: 'e3', source: 'head', sourceHandle: 'model', target: 'train', targetHandle: 'model' },
        ],
      };
      const events = collectRun(c, 'real-1');
      expect(await c.trpc.runs.start.mutate({ runId: 'real-1', graph })).toEqual({ accepted: true, position: 0 });
      const run = await events;
      const failure = run.find((e) => e.type === 'node.failed');
      expect(failure, JSON.stringify(failure)).toBeUndefined();
      expect(finishedStatus(run)).toBe('succeeded');
      const epochs = run.flatMap((e) => (e.type === 'train.epoch' ? [e] : []));
      expect(epochs.map((e) => e.epoch)).toEqual([1, 2]);
      for (const e of epochs) expect(Number.isFinite(e.loss)).toBe(true);
      expect(run[0]).toMatchObject({ type: 'run.started', backend: server.backend.name });
      expect(server.backend.name).not.toBe('unknown');
      expect(run.map((e) => e.seq)).toEqual(run.map((_, i) => i + 1));
    } finally {
      c.close();
      await server.close();
    }
  });
});
