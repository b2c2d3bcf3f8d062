/**
 * Hyperparameter sweeps over real HTTP with accounts on: the web API (auth-server.ts) with a RunnerBridge to a real
 * runner in this process executing the real node functions (TensorFlow.js, the feature cache) on a tiny generated
 * dataset, PGlite in a temp dir. Trials are ordinary runs through the runner queue; everything checked here is what
 * the sweep page reads back from sweeps.get.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSampleDataset, STEEL_DEFECT_CLASSES } from '@defectflow/engine/data';
import type { PipelineGraph, SweepProblem } from '@defectflow/nodes';
import { createRunnerServer, type RunnerServer } from '@defectflow/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunnerBridge } from '../server/runner-bridge.ts';
import { connectRunner, type RunnerLink } from '../server/runner-link.ts';
import { SWEEP_RESTART_ERROR, SweepController } from '../server/sweeps/controller.ts';
import type { SweepListItem, SweepView } from '../server/sweeps/view.ts';
import type { RunnerControl } from '../server/trpc.ts';
import { Client, startTestServer, type TestServer } from './auth-server.ts';
import { FakeRunnerControl, tempDir, waitFor } from './helpers.ts';

const TOKEN = 'sweep-test-runner-token-0123';
const PASSWORD = 'correct horse battery';
const dir = tempDir('df-sweeps-');
const datasetsRoot = join(dir, 'datasets');

/** The shipped example pipeline, scaled down so a trial trains in seconds. */
function tinyPipeline(): PipelineGraph {
  const graph = JSON.parse(readFileSync(join(import.meta.dirname, '../../../examples/default-pipeline.json'), 'utf8')) as PipelineGraph;
  for (const node of graph.nodes) {
    if (node.type === 'dataset') Object.assign(node.params, { path: 'tiny', valRatio: 0.25, testRatio: 0.25 });
    if (node.type === 'backbone') Object.assign(node.params, { inputSize: 64, cutAt: 'block_6_expand_relu' });
    if (node.type === 'train') Object.assign(node.params, { epochs: 3, batchSize: 16 });
  }
  return graph;
}

const lrAndDropout = [
  { nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 3e-2 },
  { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.5 },
];

let runner: RunnerServer;
let link: RunnerLink;
let srv: TestServer;
let engineer: Client;
let viewer: Client;
let pipelineId = '';
const graph = tinyPipeline();

beforeAll(async () => {
  await generateSampleDataset(join(datasetsRoot, 'tiny'), { perClass: 8, size: 64, seed: 3, classes: STEEL_DEFECT_CLASSES.slice(0, 3) });
  const runnerDir = join(dir, 'runner');
  runner = await createRunnerServer({ port: 0, host: '127.0.0.1', token: TOKEN, dataDir: runnerDir, datasetsRoot, backend: 'auto', log: () => {} });
  srv = await startTestServer({
    auth: { admin: { username: 'root', password: PASSWORD } },
    datasetsRoot,
    runner: (db, sockets) => {
      link = connectRunner({ url: runner.url, token: TOKEN });
      const bridge = new RunnerBridge({ repo: db.repo, link, relay: sockets, modelsDir: join(dir, 'models'), runsDir: join(runnerDir, 'runs') });
      bridge.start();
      return bridge;
    },
  });
  const admin = new Client(srv);
  await admin.signIn('root', PASSWORD);
  for (const [username, role] of [['ed', 'engineer'], ['vera', 'viewer']] as const) {
    const res = await admin.mutate('users.create', { username, password: PASSWORD, role });
    expect(res.status, res.raw).toBe(200);
  }
  engineer = new Client(srv);
  await engineer.signIn('ed', PASSWORD);
  viewer = new Client(srv);
  await viewer.signIn('vera', PASSWORD);
  const line = await engineer.mutate('productLines.create', { name: 'Tiny steel line' });
  const saved = await engineer.mutate('pipelines.save', { productLineId: (line.data as { id: string }).id, name: 'Tiny steel', graph });
  expect(saved.status, saved.raw).toBe(200);
  pipelineId = (saved.data as { id: string }).id;
});

afterAll(async () => {
  await srv?.close();
  link?.close();
  await runner?.close();
});

async function sweep(sweepId: string): Promise<SweepView> {
  const res = await viewer.query('sweeps.get', { sweepId });
  expect(res.status, res.raw).toBe(200);
  return res.data as SweepView;
}

async function startSweep(spec: unknown, name: string, document = graph): Promise<string> {
  const res = await engineer.mutate('sweeps.start', { graph: document, spec, pipelineId, name });
  expect(res.status, res.raw).toBe(200);
  const data = res.data as { ok: boolean; sweepId?: string; problems?: SweepProblem[] };
  expect(data.ok, JSON.stringify(data.problems)).toBe(true);
  return data.sweepId!;
}

/** What refusals must leave alone. */
async function counts() {
  return { sweeps: (await srv.db.repo.sweeps.list({ limit: 500 })).length, runs: (await srv.db.repo.runs.list({ includeSweepRuns: true, limit: 500 })).length };
}

describe('a random sweep of learning rate and head dropout', () => {
  let view: SweepView;

  it('runs every trial as a run through the queue, scores them on val, reuses the features, then scores the best once on test', { timeout: 600_000 }, async () => {
    const sweepId = await startSweep({ strategy: 'random', budget: { trials: 4 }, seed: 5, parallel: 2, dimensions: lrAndDropout }, 'lr and dropout');
    // The page's first poll: the sweep exists and is running at once.
    expect((await sweep(sweepId)).status).toBe('running');
    view = await waitFor(async () => {
      const v = await sweep(sweepId);
      return v.status !== 'running' && v;
    }, 540_000);
    expect([view.status, view.error]).toEqual(['succeeded', null]);
    expect(view.metric).toBe('macroF1');
    expect(view.trials.map((t) => t.index)).toEqual([0, 1, 2, 3]);
    for (const t of view.trials) {
      expect([t.index, t.status, t.error]).toEqual([t.index, 'succeeded', null]);
      expect(typeof t.score).toBe('number');
      expect(t.durationMs).toBeGreaterThan(0);
      expect(Object.keys(t.params).sort()).toEqual(['head.dropout', 'train.learningRate']);
    }
    // Only the head and training params change: the first trial extracts the features, every later one reads them.
    expect(view.trials.map((t) => t.reusedFeatures)).toEqual([false, true, true, true]);
    // Trial 0 is the pipeline as it is (its own learning rate and dropout), marked; the other three are random draws.
    const own = (id: string, param: string) => graph.nodes.find((n) => n.id === id)?.params[param];
    expect(view.trials.map((t) => t.baseline)).toEqual([true, false, false, false]);
    expect(view.trials[0]?.params).toEqual({ 'train.learningRate': own('train', 'learningRate'), 'head.dropout': own('head', 'dropout') });
    for (const t of view.trials) expect(t.epochs).toBeGreaterThanOrEqual(1);
    // The best: the highest score; ties to more epochs trained, then the earlier trial.
    const ranked = [...view.trials].sort((a, b) => b.score! - a.score! || b.epochs! - a.epochs! || a.index - b.index);
    expect(view.bestTrialIndex).toBe(ranked[0]!.index);
    // The best params once more on the pipeline's own split (test), which no trial scored.
    expect(view.final).toMatchObject({ status: 'succeeded', metrics: { split: 'test' } });
    expect(typeof view.final?.metrics?.accuracy).toBe('number');
    expect(view.finishedAt).not.toBeNull();
    expect(view.elapsedMs).toBeGreaterThan(0);
  });

  it('trials are ordinary runs: their own page names the sweep; the runs list leaves them out unless asked', async () => {
    const trial = view.trials[1]!;
    const run = (await viewer.query('runs.get', { runId: trial.runId })).data as {
      graph: PipelineGraph;
      sweep: unknown;
      sweepTrial: { params: unknown };
    };
    expect(run.sweep).toEqual({ id: view.id, name: 'lr and dropout', role: 'trial', index: 1 });
    expect(run.sweepTrial.params).toEqual(trial.params);
    // A trial graph: the trial's params, evaluate on val, no deploy.
    expect(run.graph.nodes.find((n) => n.id === 'train')?.params.learningRate).toBe(trial.params['train.learningRate']);
    expect(run.graph.nodes.find((n) => n.type === 'evaluate')?.params.split).toBe('val');
    expect(run.graph.nodes.some((n) => n.type === 'deploy')).toBe(false);
    const finalRun = (await viewer.query('runs.get', { runId: view.final!.runId })).data as { sweep: unknown; graph: PipelineGraph };
    expect(finalRun.sweep).toEqual({ id: view.id, name: 'lr and dropout', role: 'final', index: view.bestTrialIndex });
    expect(finalRun.graph.nodes.find((n) => n.type === 'evaluate')?.params.split).toBe('test');

    const plain = (await viewer.query('runs.list')).data as Array<{ id: string }>;
    expect(plain.filter((r) => r.id === trial.runId)).toEqual([]);
    const all = (await viewer.query('runs.list', { includeSweepRuns: true })).data as Array<{ id: string; sweepId: string | null }>;
    expect(all.filter((r) => r.sweepId === view.id)).toHaveLength(5);

    const list = (await viewer.query('sweeps.list')).data as SweepListItem[];
    expect(list.find((s) => s.id === view.id)).toMatchObject({
      name: 'lr and dropout',
      status: 'succeeded',
      strategy: 'random',
      metric: 'macroF1',
      trialsPlanned: 4,
      trialsDone: 4,
      bestScore: view.trials[view.bestTrialIndex!]!.score,
    });
  });

  it('"use these parameters" writes the best trial\'s params into the pipeline (engineer only)', async () => {
    const refused = await viewer.mutate('sweeps.applyBest', { sweepId: view.id });
    expect(refused).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const res = await engineer.mutate('sweeps.applyBest', { sweepId: view.id });
    expect(res.status, res.raw).toBe(200);
    const best = view.trials[view.bestTrialIndex!]!;
    expect(res.data).toEqual({
      params: best.params,
      pipelineId,
      templateId: null,
      templateVersion: null,
      editorUrl: `/editor?pipeline=${pipelineId}`,
    });
    const pipeline = (await viewer.query('pipelines.get', { id: pipelineId })).data as { graph: PipelineGraph };
    const params = (id: string) => pipeline.graph.nodes.find((n) => n.id === id)?.params;
    expect(params('train')?.learningRate).toBe(best.params['train.learningRate']);
    expect(params('head')?.dropout).toBe(best.params['head.dropout']);
    // The rest of the pipeline stays as it was: its deploy node, its evaluate split.
    expect(params('evaluate')?.split).toBe('test');
    expect(pipeline.graph.nodes.some((n) => n.type === 'deploy')).toBe(true);
  });
});

describe('refusals', () => {
  it('a sweep of a dataset param, an unknown node or a bad value is refused naming the field; nothing is recorded', async () => {
    const before = await counts();
    const res = await engineer.mutate('sweeps.start', {
      graph,
      pipelineId,
      spec: {
        dimensions: [
          { nodeId: 'dataset', param: 'valRatio', kind: 'list', values: [0.1, 0.2] },
          { nodeId: 'ghost', param: 'dropout', kind: 'range', min: 0, max: 0.5 },
          { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 5 },
        ],
      },
    });
    expect(res.status, res.raw).toBe(200);
    const { ok, problems } = res.data as { ok: boolean; problems: SweepProblem[] };
    expect(ok).toBe(false);
    expect(problems.map((p) => [p.code, p.dimension, p.nodeId, p.field ?? null])).toEqual([
      ['sweep_param_not_allowed', 0, 'dataset', 'valRatio'],
      ['sweep_node_missing', 1, 'ghost', null],
      ['sweep_value_invalid', 2, 'head', 'dropout'],
    ]);
    expect(problems[1]?.message).toContain('the pipeline has no node "ghost"');
    expect(problems[2]?.message).toContain('5 is not a valid dropout');
    expect(await counts()).toEqual(before);
  });

  it('a viewer can neither start nor cancel a sweep', async () => {
    const before = await counts();
    const started = await viewer.mutate('sweeps.start', { graph, pipelineId, spec: { dimensions: lrAndDropout } });
    expect(started).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(started.message).toMatch(/needs the engineer role/);
    const [any] = await srv.db.repo.sweeps.list();
    expect(await viewer.mutate('sweeps.cancel', { sweepId: any!.id })).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(await counts()).toEqual(before);
  });
});

describe('cancel and restart', () => {
  it('cancel mid-sweep: no new trials, its queued and running runs cancelled, the sweep says cancelled', { timeout: 300_000 }, async () => {
    // Longer trials (many epochs, no early stopping) so the cancel lands while one is running.
    const slow = structuredClone(graph);
    for (const n of slow.nodes) if (n.type === 'train') Object.assign(n.params, { epochs: 200, earlyStopping: false });
    const spec = { strategy: 'random', budget: { trials: 4 }, seed: 9, parallel: 2, dimensions: lrAndDropout };
    const sweepId = await startSweep(spec, 'to be cancelled', slow);
    await waitFor(async () => (await sweep(sweepId)).trials.some((t) => t.status === 'running'), 120_000);
    const res = await engineer.mutate('sweeps.cancel', { sweepId });
    expect(res).toMatchObject({ status: 200, data: { ok: true } });
    const view = await waitFor(async () => {
      const v = await sweep(sweepId);
      return v.status !== 'running' && v;
    }, 120_000);
    expect(view.status).toBe('cancelled');
    expect(view.trials.filter((t) => t.status === 'queued' || t.status === 'running')).toEqual([]);
    expect(view.trials.length).toBeLessThan(4);
    expect(view.trials.some((t) => t.status === 'cancelled')).toBe(true);
    expect(view.final).toBeNull();
    // Nothing of it is left in the runner's queue either (a cancelled run keeps its slot until its node returns).
    const runIds = new Set(view.trials.map((t) => t.runId));
    expect(runner.capabilities().queue.filter((id) => runIds.has(id))).toEqual([]);
  });

  it('after a restart, a sweep left running is interrupted (saying resuming is not supported) and its queued runs cancelled', async () => {
    const { repo } = srv.db;
    const left = await repo.sweeps.create({ name: 'left running', graph, spec: { dimensions: lrAndDropout }, trialsPlanned: 3, driverId: null });
    const queued = await repo.runs.create({ graph, sweepId: left.id, sweepTrial: { index: 0, rung: 0, role: 'trial', params: {} } });
    const cancels: string[] = [];
    const runnerControl: RunnerControl = {
      status: () => new FakeRunnerControl().status(),
      startRun: async () => {
        throw new Error('a restarted server starts no trial of an old sweep');
      },
      cancelRun: async (runId) => {
        cancels.push(runId);
        return { cancelled: true };
      },
    };
    const restarted = new SweepController({ repo, runner: runnerControl, maxRunning: 4 });
    const changed = await restarted.recover(null);
    expect(changed.map((s) => s.id)).toEqual([left.id]);
    const view = await sweep(left.id);
    expect([view.status, view.error]).toEqual(['interrupted', SWEEP_RESTART_ERROR]);
    expect(view.error).toMatch(/Resuming a sweep is not supported/);
    expect(cancels).toEqual([queued.id]);
  });
});
