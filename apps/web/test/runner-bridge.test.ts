import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline } from '@defectflow/nodes';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RunnerBridge } from '../server/runner-bridge.ts';
import { FakeLink, memoryDb, RecordingRelay, tempDir, waitFor } from './helpers.ts';

let db: DbHandle;
beforeAll(async () => {
  db = await memoryDb();
});
afterAll(async () => {
  await db.close();
});

let link: FakeLink;
let relay: RecordingRelay;
let bridge: RunnerBridge;

async function makeBridge(lostAfterMs = 10_000, modelsDir = '/models') {
  bridge = new RunnerBridge({ repo: db.repo, link, relay, modelsDir, lostAfterMs });
  bridge.start();
  await bridge.idle(); // the initial resync (when connected) is done
  return bridge;
}

async function newRun(): Promise<string> {
  return (await db.repo.runs.create({ graph: createDefaultPipeline() })).id;
}

beforeEach(() => {
  bridge?.stop();
  link = new FakeLink();
  relay = new RecordingRelay();
});

describe('RunnerBridge', () => {
  it('persists live events once, updates the run row and relays each event once', async () => {
    link.connected = true;
    await makeBridge();
    const runId = await newRun();
    link.record(runId, { type: 'run.started', backend: 'wasm', device: 'cpu' });
    const log = link.record(runId, { type: 'node.log', level: 'info', message: 'hello' });
    link.resend(log); // a duplicate delivery
    link.record(runId, { type: 'node.finished', nodeId: 'evaluate', nodeType: 'evaluate', summary: { accuracy: 0.9 }, durationMs: 5 });
    link.record(runId, { type: 'run.finished', status: 'succeeded', durationMs: 10 });
    await bridge.idle();

    const stored = await db.repo.runEvents.list(runId);
    expect(stored).toEqual(link.log.get(runId));
    expect(relay.events.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    const run = await db.repo.runs.get(runId);
    expect(run).toMatchObject({ status: 'succeeded', backend: 'wasm', device: 'cpu', metrics: { accuracy: 0.9 }, lastSeq: 4, error: null });
    expect(run?.finishedAt).toBeInstanceOf(Date);
    // Once the final row is stored, the run's room hears it (browsers refetch the full report then).
    expect(relay.statuses).toEqual([{ runId, status: 'succeeded', error: null }]);
  });

  it('on (re)connect fetches the events it missed and persists them in order', async () => {
    const runId = await newRun();
    link.connected = false;
    await makeBridge();
    link.record(runId, { type: 'run.started', backend: 'cpu', device: 'cpu' }, false);
    link.record(runId, { type: 'node.started', nodeId: 'dataset', nodeType: 'dataset' }, false);
    link.caps = { ...link.caps, busy: true, currentRunId: runId };
    link.setConnected(true);
    await waitFor(async () => (await db.repo.runEvents.lastSeq(runId)) === 2);
    await bridge.idle();
    expect((await db.repo.runs.get(runId))?.status).toBe('running');
    expect(relay.events.map((e) => e.seq)).toEqual([1, 2]);
    // the status pushed to browsers reflects the runner's capabilities
    expect(relay.runner.at(-1)).toMatchObject({ connected: true, busy: true, currentRunId: runId });
  });

  it('marks unfinished runs interrupted when the runner restarted and no longer knows them', async () => {
    const known = await newRun();
    const lost = await newRun();
    link.caps = { ...link.caps, currentRunId: known };
    link.connected = false;
    await makeBridge();
    link.setConnected(true);
    await waitFor(async () => (await db.repo.runs.get(lost))?.status === 'interrupted');
    await bridge.idle();
    expect((await db.repo.runs.get(known))?.status).toBe('queued');
    expect(relay.statuses).toContainEqual(expect.objectContaining({ runId: lost, status: 'interrupted' }));
    await db.repo.runs.markInterrupted([known]);
  });

  it('a run started while a reconnect resync runs is not taken for lost', async () => {
    link.connected = false;
    await makeBridge();
    const runId = crypto.randomUUID();
    const record = async () => {
      await db.repo.runs.create({ id: runId, graph: createDefaultPipeline() });
    };
    // capabilities (fetched by the resync) do not list the new run yet
    link.setConnected(true);
    const result = await bridge.startRun(runId, createDefaultPipeline(), record);
    expect(result.accepted).toBe(true);
    await bridge.idle();
    expect((await db.repo.runs.get(runId))?.status).toBe('queued');
    await db.repo.runs.markInterrupted([runId]);
  });

  it('onRunEnded hears a run once its final status is stored: finished, or marked interrupted', async () => {
    link.connected = true;
    await makeBridge(50);
    const heard: Array<[string, string, string | undefined]> = [];
    const off = bridge.onRunEnded((runId, status) => {
      // Told after the commit: the row already says it (the sweep controller reads it then).
      void db.repo.runs.get(runId).then((row) => heard.push([runId, status, row?.status]));
    });
    const done = await newRun();
    link.record(done, { type: 'run.started', backend: 'cpu', device: 'cpu' });
    link.record(done, { type: 'run.finished', status: 'succeeded', durationMs: 3 });
    await bridge.idle();
    await waitFor(() => heard.some(([id]) => id === done));
    expect(heard.filter(([id]) => id === done)).toEqual([[done, 'succeeded', 'succeeded']]);
    const lost = await newRun();
    link.setConnected(false);
    await waitFor(() => heard.some(([id]) => id === lost));
    expect(heard.filter(([id]) => id === lost)).toEqual([[lost, 'interrupted', 'interrupted']]);
    off();
  });

  it('marks unfinished runs interrupted when the runner stays unreachable', async () => {
    link.connected = true;
    await makeBridge(50);
    const runId = await newRun();
    link.setConnected(false);
    await waitFor(async () => (await db.repo.runs.get(runId))?.status === 'interrupted');
    expect((await db.repo.runs.get(runId))?.error).toMatch(/lost the connection to the runner/);
    expect(bridge.status().connected).toBe(false);
  });

  it('a short drop that recovers in time interrupts nothing', async () => {
    link.connected = true;
    await makeBridge(300);
    const runId = await newRun();
    link.caps = { ...link.caps, currentRunId: runId };
    link.setConnected(false);
    link.setConnected(true);
    await new Promise((r) => setTimeout(r, 500));
    await bridge.idle();
    expect((await db.repo.runs.get(runId))?.status).toBe('queued');
    await db.repo.runs.markInterrupted([runId]);
  });

  it('registers a deployed model from the deploy node summary, once', async () => {
    link.connected = true;
    await makeBridge();
    const runId = await newRun();
    const summary = { modelId: `m-${runId.slice(0, 8)}`, dir: 'm1', name: 'steel', labels: ['a', 'b'], inputSize: 96 };
    const ev = link.record(runId, { type: 'node.finished', nodeId: 'deploy', nodeType: 'deploy', summary, durationMs: 1 });
    link.resend(ev);
    await bridge.idle();
    const models = (await db.repo.models.list()).filter((m) => m.runId === runId);
    expect(models).toHaveLength(1);
    expect(models[0]).toMatchObject({ id: summary.modelId, dir: '/models/m1', labels: ['a', 'b'], inputSize: 96, name: 'steel' });
  });

  it('fills a sparse deploy summary from the export metadata (defectflow.json)', async () => {
    link.connected = true;
    const modelsDir = tempDir('df-models-');
    await makeBridge(10_000, modelsDir);
    const runId = await newRun();
    const dir = join(modelsDir, `model-${runId.slice(0, 8)}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'defectflow.json'), JSON.stringify({ name: 'coil', labels: ['good', 'scratch'], inputSize: 128, metrics: { accuracy: 0.8 } }));
    link.record(runId, { type: 'node.finished', nodeId: 'deploy', nodeType: 'deploy', summary: { dir }, durationMs: 1 });
    await bridge.idle();
    expect(await db.repo.models.get(`model-${runId.slice(0, 8)}`)).toMatchObject({
      name: 'coil',
      labels: ['good', 'scratch'],
      inputSize: 128,
      metrics: { accuracy: 0.8 },
      dir,
    });
  });

  it('refuses to register a deploy folder outside the models dir, even one that exists', async () => {
    link.connected = true;
    const top = tempDir('df-data-');
    const modelsDir = join(top, 'models');
    mkdirSync(modelsDir);
    await makeBridge(10_000, modelsDir);
    const runId = await newRun();
    // What a deploy node with id "x/../../../../<folder>" exported to, and the variants of it.
    const escapes = [
      { modelId: `a-${runId.slice(0, 8)}`, dir: top },
      { modelId: `b-${runId.slice(0, 8)}`, dir: join(modelsDir, 'm-x', '..', '..', '..', 'etc') },
      { modelId: `c-${runId.slice(0, 8)}`, dir: '../outside' },
      { modelId: `d-${runId.slice(0, 8)}`, dir: '.' },
    ];
    for (const summary of escapes) {
      link.record(runId, { type: 'node.finished', nodeId: 'deploy', nodeType: 'deploy', summary, durationMs: 1 });
    }
    const inside = { modelId: `e-${runId.slice(0, 8)}`, dir: join(modelsDir, 'e') };
    link.record(runId, { type: 'node.finished', nodeId: 'deploy', nodeType: 'deploy', summary: inside, durationMs: 1 });
    await bridge.idle();
    const models = (await db.repo.models.list()).filter((m) => m.runId === runId);
    expect(models.map((m) => [m.id, m.dir])).toEqual([[inside.modelId, inside.dir]]);
  });

  it('ignores events of runs this database does not know', async () => {
    link.connected = true;
    await makeBridge();
    link.record('not-ours', { type: 'run.started', backend: 'cpu', device: 'cpu' });
    link.record('not-ours', { type: 'node.log', level: 'info', message: 'x' });
    await bridge.idle();
    expect(await db.repo.runEvents.list('not-ours')).toEqual([]);
  });
});
