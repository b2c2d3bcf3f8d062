/**
 * "Use these parameters" from a template (a new version), its refusals, and the SWEEP_MAX_RUNNING limit — through
 * the tRPC router in process, on rows as the sweep controller writes them (test/sweeps.test.ts runs real sweeps).
 */
import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadEnv } from '../server/env.ts';
import { SweepController } from '../server/sweeps/controller.ts';
import { FakeRunnerControl, makeCaller, memoryDb } from './helpers.ts';

let db: DbHandle;
let api: ReturnType<typeof makeCaller>;
let lineId = '';
const graph = createDefaultPipeline();
const spec = { dimensions: [{ nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-2, steps: 5 }], strategy: 'random', metric: 'macroF1' };

beforeAll(async () => {
  db = await memoryDb();
  api = makeCaller(db, new FakeRunnerControl());
  lineId = (await api.productLines.create({ name: 'Apply line' })).id;
});
afterAll(async () => {
  await db.close();
});

/** A finished sweep with two trials: #1 succeeded (score 80), #2 failed. */
async function finishedSweep(source: { templateId?: string; pipelineId?: string }) {
  const sweep = await db.repo.sweeps.create({ name: 'lr', productLineId: lineId, graph, spec, trialsPlanned: 2, ...source });
  const ok = await db.repo.runs.create({
    graph,
    sweepId: sweep.id,
    sweepTrial: { index: 0, rung: 0, role: 'trial', params: { 'train.learningRate': 0.00123456 }, score: 80, reusedFeatures: false },
  });
  await db.repo.runs.update(ok.id, { status: 'succeeded', finishedAt: new Date() });
  const bad = await db.repo.runs.create({ graph, sweepId: sweep.id, sweepTrial: { index: 1, rung: 0, role: 'trial', params: { 'train.learningRate': 0.01 } } });
  await db.repo.runs.update(bad.id, { status: 'failed', error: 'train node "train": out of memory', finishedAt: new Date() });
  await db.repo.sweeps.finish(sweep.id, 'succeeded', { bestTrialIndex: 0 });
  return sweep;
}

describe('sweeps.applyBest', () => {
  it('from a template: a new template version with the params, named after the sweep; the editor link opens it', async () => {
    const t = await api.templates.save({ productLineId: lineId, name: 'Steel T', graph, message: 'v1' });
    const sweep = await finishedSweep({ templateId: t.templateId });
    const result = await api.sweeps.applyBest({ sweepId: sweep.id });
    const [latest] = await api.templates.versions({ templateId: t.templateId });
    expect(result).toEqual({
      params: { 'train.learningRate': 0.00123456 },
      pipelineId: null,
      templateId: t.templateId,
      templateVersion: 2,
      editorUrl: `/editor?template=${t.templateId}&version=${latest!.id}`,
    });
    expect(latest).toMatchObject({ version: 2, message: 'sweep lr: train.learningRate=0.001235' });
    expect(latest!.graph.nodes.find((n) => n.id === 'train')?.params.learningRate).toBe(0.00123456);
  });

  it('refuses a trial that did not succeed, and a sweep with no document to write to, saying what to do', async () => {
    const p = await api.pipelines.save({ productLineId: lineId, name: 'P', graph });
    const sweep = await finishedSweep({ pipelineId: p.id });
    await expect(api.sweeps.applyBest({ sweepId: sweep.id, trialIndex: 1 })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: 'Trial 2 of sweep "lr" did not succeed (failed): only a succeeded trial\'s parameters can be used',
    });
    await expect(api.sweeps.applyBest({ sweepId: sweep.id, trialIndex: 7 })).rejects.toMatchObject({ code: 'BAD_REQUEST', message: 'Sweep "lr" has no trial 8' });
    const orphan = await finishedSweep({});
    await expect(api.sweeps.applyBest({ sweepId: orphan.id })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
      message: expect.stringMatching(/not started from a saved pipeline or template .*copy them instead/),
    });
    await expect(api.sweeps.applyBest({ sweepId: 'nope' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'sweep nope does not exist' });
  });
});

describe('SWEEP_MAX_RUNNING', () => {
  it('a start past the limit is refused naming it; nothing is recorded', async () => {
    const runner = new FakeRunnerControl(); // accepts runs that never finish: the first sweep stays running
    const sweeps = new SweepController({ repo: db.repo, runner, maxRunning: 1 });
    const caller = makeCaller(db, runner, { sweeps });
    try {
      const first = await caller.sweeps.start({ graph, spec });
      expect(first.ok).toBe(true);
      const before = (await db.repo.sweeps.list()).length;
      await expect(caller.sweeps.start({ graph, spec })).rejects.toMatchObject({
        code: 'TOO_MANY_REQUESTS',
        message: expect.stringContaining('(SWEEP_MAX_RUNNING=1)'),
      });
      expect((await db.repo.sweeps.list()).length).toBe(before);
    } finally {
      await sweeps.close();
    }
  });

  it('is read from the environment (default 4); a bad value names the variable', () => {
    expect(loadEnv({}).sweepMaxRunning).toBe(4);
    expect(loadEnv({ SWEEP_MAX_RUNNING: '2' }).sweepMaxRunning).toBe(2);
    expect(() => loadEnv({ SWEEP_MAX_RUNNING: '0' })).toThrow(/SWEEP_MAX_RUNNING/);
  });
});
