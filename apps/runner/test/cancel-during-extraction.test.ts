import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { generateSampleDataset, STEEL_DEFECT_CLASSES } from '@defectflow/engine';
import { createDefaultPipeline, type PipelineGraph, type RunEvent } from '@defectflow/nodes';
import { afterAll, describe, expect, it } from 'vitest';
import { client, finishedStatus, spawnRunner, TOKEN, tempDir } from './helpers.ts';

/**
 * Issue 20: cancelling the default template during feature extraction sometimes killed the runner
 * (`Error: cancelled … terminate called after throwing an instance of 'Napi::Error'`, SIGABRT). The
 * next batch's images, decoded ahead, rejected on the cancel while the current batch was in ONNX
 * Runtime; unhandled for that moment, the rejection met the wasm backend's process handler, which
 * rethrows. A real runner process, cancelled at eight points of the extraction, must stay up, end
 * each run `cancelled`, and then run the next one to success.
 */
describe('cancel during feature extraction (real runner process)', () => {
  const tmp = tempDir();
  const runner = { child: null as ReturnType<typeof spawnRunner> | null };
  afterAll(() => {
    runner.child?.child.kill('SIGKILL');
    tmp.remove();
  });

  /**
   * The default template, small: 96 px input, one epoch, the augment seed varied so every run extracts.
   * 80 images a class keep extraction past a second even on a fast machine, so the fourth throttled
   * progress report (at most five a second) still comes before training starts.
   */
  function graph(seed: number): PipelineGraph {
    const g = createDefaultPipeline();
    for (const node of g.nodes) {
      if (node.type === 'dataset') node.params = { ...node.params, path: 'tiny' };
      if (node.type === 'backbone') node.params = { ...node.params, inputSize: 96 };
      if (node.type === 'augment') node.params = { ...node.params, seed };
      if (node.type === 'train') node.params = { ...node.params, epochs: 1 };
    }
    return g;
  }

  it('stays up through eight cancels at different points; each run ends cancelled and the next succeeds', async () => {
    const datasetsRoot = path.join(tmp.dir, 'datasets');
    await generateSampleDataset(path.join(datasetsRoot, 'tiny'), { perClass: 80, size: 96, seed: 5, classes: STEEL_DEFECT_CLASSES.slice(0, 3) });
    // The wasm backend is the one whose process handlers turned the stray rejection into a crash.
    const child = spawnRunner(path.resolve(import.meta.dirname, '../src/main.ts'), {
      RUNNER_TOKEN: TOKEN,
      RUNNER_PORT: '0',
      RUNNER_BACKEND: 'wasm',
      DATA_DIR: tmp.dir,
      DATASETS_ROOT: datasetsRoot,
    });
    runner.child = child;
    const c = client(await child.url);
    try {
      // Where to cancel: at the n-th progress report of feature extraction (one comes per batch, at most
      // five a second), then this many ms later — in decoding, in ONNX Runtime, between the two.
      const points: Array<[number, number]> = [[0, 0], [0, 50], [1, 0], [1, 80], [2, 20], [2, 0], [3, 40], [3, 10]];
      for (const [i, [nth, delayMs]] of points.entries()) {
        const runId = `cancel-${i}`;
        const events: RunEvent[] = [];
        let cancelled = false;
        let reports = 0;
        const finished = new Promise<void>((resolve) => {
          c.subscribe(runId, 0, (e) => {
            events.push(e);
            const extracting = e.type === 'node.progress' && e.phase.startsWith('features') && e.done < e.total;
            if (!cancelled && extracting && reports++ === nth) {
              cancelled = true;
              void sleep(delayMs).then(() => c.trpc.runs.cancel.mutate({ runId }));
            }
            if (e.type === 'run.finished') resolve();
          });
        });
        await c.trpc.runs.start.mutate({ runId, graph: graph(100 + i) });
        await finished;
        const story = events.map((e) => (e.type === 'node.progress' ? `${e.phase} ${e.done}/${e.total}` : e.type === 'run.finished' ? `${e.type} ${e.status} ${e.error ?? ''}` : e.type === 'node.failed' ? `failed ${e.message}` : e.type)).join('\n');
        expect(cancelled, `${runId} was cancelled during feature extraction:\n${story}`).toBe(true);
        expect(finishedStatus(events), `${runId} ends cancelled`).toBe('cancelled');
        expect(events.some((e) => e.type === 'train.batch'), `${runId} stopped before training:\n${story}`).toBe(false);
        expect(child.child.exitCode ?? child.child.signalCode, `the runner is still running after ${runId}`).toBeNull();
      }

      const events: RunEvent[] = [];
      const finished = new Promise<void>((resolve) => {
        c.subscribe('after-cancels', 0, (e) => {
          events.push(e);
          if (e.type === 'run.finished') resolve();
        });
      });
      await c.trpc.runs.start.mutate({ runId: 'after-cancels', graph: graph(1) });
      await finished;
      expect(events.find((e) => e.type === 'node.failed')).toBeUndefined();
      expect(finishedStatus(events)).toBe('succeeded');
      expect(child.child.exitCode ?? child.child.signalCode).toBeNull();
      // Nothing reached the process-level handlers (a stray rejection would fail an innocent run).
      expect(child.output()).not.toMatch(/unhandled rejection|uncaught exception|terminate called/);
    } finally {
      c.close();
    }
  });
});
