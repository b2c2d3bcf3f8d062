import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerBridge } from '../server/runner-bridge.ts';
import { FakeLink, memoryDb, tempDir } from './helpers.ts';

/** The report needs the evaluate node's full metrics (cells, predictions), which only its run-folder file has. */
describe('runs.metrics gets the full evaluate metrics', () => {
  let db: DbHandle;
  beforeAll(async () => {
    db = await memoryDb();
  });
  afterAll(async () => {
    await db.close();
  });

  const relay = { runEvent() {}, runStatus() {}, runnerStatus() {} };
  const summary = { split: 'test', images: 2, accuracy: 0.5, macroF1: 0.33 };
  const full = {
    accuracy: 0.5,
    classes: ['a', 'b'],
    confusion: [
      [1, 0],
      [1, 0],
    ],
    cells: { a: { a: ['a/1.png'] }, b: { a: ['b/1.png'] } },
  };

  async function finishEvaluate(runsDir: string | undefined, writeFile: boolean): Promise<unknown> {
    const runId = (await db.repo.runs.create({ graph: createDefaultPipeline() })).id;
    if (runsDir && writeFile) {
      mkdirSync(join(runsDir, runId), { recursive: true });
      writeFileSync(join(runsDir, runId, 'metrics-evaluate.json'), JSON.stringify(full));
    }
    const link = new FakeLink();
    const bridge = new RunnerBridge({ repo: db.repo, link, relay, modelsDir: '/models', runsDir });
    bridge.start();
    await bridge.idle();
    link.record(runId, { type: 'node.finished', nodeId: 'evaluate', nodeType: 'evaluate', summary, durationMs: 5 });
    await bridge.idle();
    bridge.stop();
    return (await db.repo.runs.get(runId))?.metrics;
  }

  it('reads <runsDir>/<runId>/metrics-<nodeId>.json and keeps the summary fields', async () => {
    expect(await finishEvaluate(tempDir(), true)).toEqual({ ...summary, ...full });
  });

  // Issue 20 item 2: a rerun whose evaluate node was reused got only the headline metrics.
  it('a reused evaluate node gets the full metrics of the run that computed it', async () => {
    const runsDir = tempDir();
    const original = (await db.repo.runs.create({ graph: createDefaultPipeline() })).id;
    mkdirSync(join(runsDir, original), { recursive: true });
    writeFileSync(join(runsDir, original, 'metrics-eval-1.json'), JSON.stringify(full));
    const rerun = (await db.repo.runs.create({ graph: createDefaultPipeline() })).id;
    const link = new FakeLink();
    const bridge = new RunnerBridge({ repo: db.repo, link, relay, modelsDir: '/models', runsDir });
    bridge.start();
    await bridge.idle();
    link.record(rerun, { type: 'node.cached', nodeId: 'evaluate', nodeType: 'evaluate', summary, from: { runId: original, nodeId: 'eval-1' } });
    await bridge.idle();
    bridge.stop();
    expect((await db.repo.runs.get(rerun))?.metrics).toEqual({ ...summary, ...full });
  });

  it('falls back to the summary when the file is missing or no runs folder is shared', async () => {
    expect(await finishEvaluate(tempDir(), false)).toEqual(summary);
    expect(await finishEvaluate(undefined, false)).toEqual(summary);
  });
});
