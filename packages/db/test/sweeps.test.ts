/** Sweeps (migration 0003): the sweep row, its trial and final runs, and runs.list leaving them out. */
import type { PipelineGraph } from '@defectflow/nodes';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle, sweeps } from '../src/index.ts';
import { type Backend, pgliteBackend, postgresBackend } from './backends.ts';

const graph: PipelineGraph = { version: 1, nodes: [], edges: [] };
const spec = { dimensions: [{ nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-2, steps: 5 }], strategy: 'random' };

function suite(backend: Backend) {
  let h: DbHandle;
  beforeAll(async () => {
    h = await createDb(await backend.prepare('sweeps'));
  });
  afterAll(async () => {
    await h?.close();
    await backend.cleanup();
  });

  it('records a sweep with its source, its trial and final runs; runs.list leaves them out unless asked', async () => {
    const line = await h.repo.productLines.create('Sweep line');
    const pipeline = await h.repo.pipelines.save({ productLineId: line.id, name: 'P', graph });
    const sweep = await h.repo.sweeps.create({ name: 'lr sweep', productLineId: line.id, pipelineId: pipeline.id, graph, spec, trialsPlanned: 4, driverId: 'r1' });
    expect(sweep).toMatchObject({ status: 'running', trialsPlanned: 4, bestTrialIndex: null, finalRunId: null, spec, pipelineId: pipeline.id });
    const plain = await h.repo.runs.create({ productLineId: line.id, graph });
    const trial = await h.repo.runs.create({
      productLineId: line.id,
      graph,
      sweepId: sweep.id,
      sweepTrial: { index: 0, rung: 0, role: 'trial', params: { 'train.learningRate': 0.001 } },
    });
    expect(trial.sweepTrial).toEqual({ index: 0, rung: 0, role: 'trial', params: { 'train.learningRate': 0.001 } });
    const scored = await h.repo.runs.update(trial.id, { sweepTrial: { ...trial.sweepTrial!, score: 91.5, reusedFeatures: false } });
    expect(scored.sweepTrial).toMatchObject({ score: 91.5, reusedFeatures: false });

    const listed = (await h.repo.runs.list({ productLineId: line.id })).map((r) => r.id);
    expect(listed).toEqual([plain.id]);
    const all = (await h.repo.runs.list({ productLineId: line.id, includeSweepRuns: true })).map((r) => r.id);
    expect(all.sort()).toEqual([plain.id, trial.id].sort());
    expect((await h.repo.runs.listBySweeps([sweep.id])).map((r) => r.id)).toEqual([trial.id]);
    expect((await h.repo.sweeps.list({ productLineId: line.id })).map((s) => s.id)).toEqual([sweep.id]);

    const done = await h.repo.sweeps.finish(sweep.id, 'succeeded', { bestTrialIndex: 0, finalRunId: trial.id, finalMetrics: { accuracy: 90, split: 'test' } });
    expect(done).toMatchObject({ status: 'succeeded', bestTrialIndex: 0, finalMetrics: { accuracy: 90, split: 'test' } });
    expect(done?.finishedAt).toBeInstanceOf(Date);
    // A finished sweep never changes status again.
    expect(await h.repo.sweeps.finish(sweep.id, 'failed')).toBeNull();
    expect(await h.repo.sweeps.markInterrupted([sweep.id], 'x')).toEqual([]);
  });

  it('refuses an unknown status; running sweeps by driver; deleting a sweep keeps its runs', async () => {
    const a = await h.repo.sweeps.create({ name: 'a', graph, spec, trialsPlanned: 1, driverId: 'mine' });
    const b = await h.repo.sweeps.create({ name: 'b', graph, spec, trialsPlanned: 1, driverId: 'other' });
    const c = await h.repo.sweeps.create({ name: 'c', graph, spec, trialsPlanned: 1 });
    await expect(h.repo.sweeps.update(a.id, { status: 'paused' as never })).rejects.toThrow();
    const mine = (await h.repo.sweeps.listRunning({ driverId: 'mine' })).map((s) => s.id);
    expect(mine).toContain(a.id);
    expect(mine).toContain(c.id);
    expect(mine).not.toContain(b.id);
    const changed = await h.repo.sweeps.markInterrupted([a.id], 'Interrupted: the web server restarted');
    expect(changed.map((s) => [s.id, s.status, s.error])).toEqual([[a.id, 'interrupted', 'Interrupted: the web server restarted']]);
    await expect(h.repo.sweeps.update('nope', { error: 'x' })).rejects.toThrow(/sweep nope does not exist/);

    // runs.sweep_id is ON DELETE SET NULL: a sweep removed by hand leaves its runs as ordinary runs.
    const run = await h.repo.runs.create({ graph, sweepId: b.id, sweepTrial: { index: 0, rung: 0, role: 'trial', params: {} } });
    await h.repo.sweeps.update(b.id, { finalRunId: run.id });
    await h.db.delete(sweeps).where(eq(sweeps.id, b.id));
    expect((await h.repo.runs.get(run.id))?.sweepId).toBeNull();
    // …and deleting a sweep's final run clears final_run_id.
    await h.repo.runs.remove(run.id);
    const d = await h.repo.sweeps.create({ name: 'd', graph, spec, trialsPlanned: 1 });
    const finalRun = await h.repo.runs.create({ graph, sweepId: d.id });
    await h.repo.sweeps.update(d.id, { finalRunId: finalRun.id });
    await h.repo.runs.remove(finalRun.id);
    expect((await h.repo.sweeps.get(d.id))?.finalRunId).toBeNull();
  });

  it('listOfTypes returns only the asked event types of a run, in seq order', async () => {
    const run = await h.repo.runs.create({ graph });
    const base = { runId: run.id, ts: Date.now() };
    await h.repo.runEvents.append([
      { ...base, seq: 1, type: 'run.started', backend: 'cpu', device: 'x' },
      { ...base, seq: 2, type: 'node.cached', nodeId: 'train', nodeType: 'train', summary: { epochs: 2 } },
      { ...base, seq: 3, type: 'node.log', level: 'info', message: 'hi' },
      { ...base, seq: 4, type: 'node.finished', nodeId: 'evaluate', nodeType: 'evaluate', summary: { macroF1: 80 }, durationMs: 3 },
    ]);
    const got = await h.repo.runEvents.listOfTypes(run.id, ['node.finished', 'node.cached']);
    expect(got.map((e) => [e.seq, e.type])).toEqual([
      [2, 'node.cached'],
      [4, 'node.finished'],
    ]);
  });
}

describe('sweeps (PGlite)', () => suite(pgliteBackend()));
const url = process.env.TEST_DATABASE_URL;
if (url) describe('sweeps (PostgreSQL)', () => suite(postgresBackend(url)));
