/**
 * Process faults, with real processes: the production web server (child of the test), its embedded runner
 * (child of the web server), PGlite in a temp DATA_DIR, socket.io watchers as browsers.
 * Each case asserts what the user sees (run status and error through tRPC, events through socket.io) and
 * that nothing saved was lost (runs, events, models, datasets, pipelines before and after; the events of
 * finished runs unchanged), and prints its figures as one `RELIABILITY {…}` line for docs/RELIABILITY.md.
 * (PostgreSQL stopped mid-run: faults-postgres.e2e.test.ts; disk full: faults-disk.e2e.test.ts.)
 */
import { join } from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppHandle, createTinyDataset } from '../src/harness.ts';
import {
  counts,
  endApp,
  endlessGraph,
  expectNothingLost,
  isAlive,
  quickGraph,
  readEventLog,
  report,
  runnerPid,
  type RunnerStatusView,
  runToEnd,
  secs,
  seqCheck,
  snapshot,
  startAppWithRunner,
  startRun,
  waitForEvent,
  waitForRunEnd,
  waitUntil,
  watchRun,
  withTimeout,
} from '../src/reliability.ts';

const GROUP = 'faults';
const isEpoch = (e: RunEvent) => e.type === 'train.epoch';

/** Feature extraction that takes a while: 224 px through most of MobileNetV2 for every image. */
function slowExtractionGraph(dataset: string): PipelineGraph {
  const graph = quickGraph(dataset, { epochs: 2, seed: 99 });
  for (const node of graph.nodes) {
    if (node.type === 'backbone') node.params = { ...node.params, inputSize: 224, cutAt: 'block_13_expand_relu' };
  }
  return graph;
}

describe('faults: runner and web server killed, 20 queued runs watched, cancel', () => {
  let app: AppHandle;
  let dataset: string;
  let bigDataset: string;

  beforeAll(async () => {
    app = await startAppWithRunner();
    dataset = await createTinyDataset(app, 'tiny-faults', 8);
    bigDataset = 'slow-extract';
    await generateSampleDataset(join(app.datasetsRoot, bigDataset), {
      perClass: 40,
      size: 96,
      seed: 11,
      classes: ['crazing', 'inclusion', 'scratches'],
    });
    // A finished run (with a model) whose rows and events every later fault must leave untouched.
    const first = await runToEnd(app, quickGraph(dataset, { epochs: 2 }, { name: 'faults-baseline', gateMetric: 'none' }));
    expect(first.run.status).toBe('succeeded');
  });

  afterAll(async () => {
    await endApp(app, 'faults');
  });

  it('20 queued runs with 20 socket.io watchers: all finish, every watcher gets every event in seq order', async () => {
    const before = await snapshot(app);
    // A run holds the slot while the 20 are queued and watched, so every watcher joins before its run starts.
    const blocker = await startRun(app, endlessGraph(dataset, 7));
    await waitForEvent(app, blocker, isEpoch);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await startRun(app, quickGraph(dataset, { epochs: 2, seed: 100 + i })));
    const watchers = await Promise.all(ids.map((id) => watchRun(app.url, id)));
    // All 20 wait behind the blocker (the status the runner pushes may lag a moment behind the starts).
    await waitUntil('the 20 runs to be queued', async () => {
      const status = await app.trpc<RunnerStatusView>('runner.status');
      return JSON.stringify(status.queue) === JSON.stringify(ids);
    }, 15_000);
    const t0 = Date.now();
    await app.trpc('runs.cancel', { runId: blocker }, 'mutation');
    await withTimeout(Promise.all(watchers.map((w) => w.finished)), 240_000, 'the 20 watched runs to finish');
    const allMs = Date.now() - t0;
    for (const w of watchers) w.close();

    let totalEvents = 0;
    let duplicates = 0;
    for (const w of watchers) {
      const run = await waitForRunEnd(app, w.runId, 30_000);
      expect(run.status, `run ${w.runId}: ${run.error}`).toBe('succeeded');
      const stored = await app.trpc<RunEvent[]>('runs.events', { runId: w.runId, since: 0 });
      const logged = readEventLog(app.dataDir, w.runId);
      const seen = seqCheck(w.received);
      expect(seen.gapFree, `watcher of ${w.runId} has gaps: ${seen.unique.join(',')}`).toBe(true);
      expect(seen.inOrder, `watcher of ${w.runId} got seqs out of order: ${seen.unique.join(',')}`).toBe(true);
      expect(seen.unique.length).toBe(logged.length);
      expect(stored.map((e) => e.seq)).toEqual(logged.map((e) => e.seq));
      expect(run.lastSeq).toBe(logged.length);
      totalEvents += logged.length;
      duplicates += seen.duplicates;
    }
    const after = await snapshot(app);
    expectNothingLost(before, after);
    expect(counts(after).runs).toBe(counts(before).runs + 21);
    report(GROUP, '20 queued runs, 20 watchers', {
      runs: 20,
      eventsPerRun: Math.round(totalEvents / 20),
      eventsTotal: totalEvents,
      watcherGaps: 0,
      watcherDuplicates: duplicates,
      allFinishedS: secs(allMs),
      before: counts(before),
      after: counts(after),
    });
  });

  it('cancel during feature extraction and cancel while queued: cancelled, the next run starts and succeeds', async () => {
    const before = await snapshot(app);
    const slow = await startRun(app, slowExtractionGraph(bigDataset));
    const queued = await startRun(app, quickGraph(dataset, { epochs: 2, seed: 300 }));
    const next = await startRun(app, quickGraph(dataset, { epochs: 2, seed: 301 }));
    await waitForEvent(app, slow, (e) => e.type === 'node.progress' && e.nodeId === 'train' && e.phase.startsWith('features'));

    // Queued: removed from the line at once, one run.finished event, the running run is untouched.
    let t0 = Date.now();
    expect(await app.trpc('runs.cancel', { runId: queued }, 'mutation')).toMatchObject({ cancelled: true });
    const queuedRow = await waitForRunEnd(app, queued, 30_000);
    const queuedMs = Date.now() - t0;
    expect(queuedRow.status).toBe('cancelled');
    const queuedEvents = await app.trpc<RunEvent[]>('runs.events', { runId: queued, since: 0 });
    expect(queuedEvents.map((e) => e.type)).toEqual(['run.finished']);
    expect((await app.trpc<{ status: string }>('runs.get', { runId: slow })).status).toBe('running');

    // Running, inside feature extraction.
    t0 = Date.now();
    expect(await app.trpc('runs.cancel', { runId: slow }, 'mutation')).toMatchObject({ cancelled: true });
    const slowRow = await waitForRunEnd(app, slow, 60_000);
    const slowMs = Date.now() - t0;
    expect(slowRow.status).toBe('cancelled');
    const slowEvents = await app.trpc<RunEvent[]>('runs.events', { runId: slow, since: 0 });
    const slowEnd = slowEvents.at(-1);
    expect(slowEnd).toMatchObject({ type: 'run.finished', status: 'cancelled' });

    // The run behind it starts only after the cancelled one ended, and trains normally.
    const nextRow = await waitForRunEnd(app, next, 120_000);
    expect(nextRow.status, nextRow.error ?? '').toBe('succeeded');
    const nextEvents = await app.trpc<RunEvent[]>('runs.events', { runId: next, since: 0 });
    const nextStart = nextEvents.find((e) => e.type === 'run.started');
    expect(nextStart!.ts).toBeGreaterThanOrEqual(slowEnd!.ts);
    const after = await snapshot(app);
    expectNothingLost(before, after);
    report(GROUP, 'cancel while queued', { cancelledS: secs(queuedMs), events: queuedEvents.length, runningRunUntouched: true });
    report(GROUP, 'cancel during feature extraction', {
      cancelledS: secs(slowMs),
      nextRunStartedAfterEndS: secs(nextStart!.ts - slowEnd!.ts),
      nextRun: nextRow.status,
      before: counts(before),
      after: counts(after),
    });
  });

  it('runner SIGKILL mid-run: the run ends interrupted with a message, the runner comes back, the next run works', async () => {
    const runId = await startRun(app, endlessGraph(dataset, 11));
    await waitForEvent(app, runId, isEpoch);
    const before = await snapshot(app);
    const restarts = (await app.trpc<RunnerStatusView>('runner.status')).restarts ?? 0;
    const pid = runnerPid(app);
    const t0 = Date.now();
    process.kill(pid, 'SIGKILL');

    const row = await waitForRunEnd(app, runId, 60_000);
    const endedMs = Date.now() - t0;
    expect(row.status).toBe('interrupted');
    expect(row.error).toMatch(/runner/i);
    await waitUntil(
      'the restarted runner',
      async () => {
        const s = await app.trpc<RunnerStatusView>('runner.status');
        return s.connected && (s.restarts ?? 0) > restarts;
      },
      60_000,
    );
    const backMs = Date.now() - t0;
    expect(isAlive(pid)).toBe(false);
    expect(runnerPid(app)).not.toBe(pid);

    // Every event the killed runner wrote is stored, nothing doubled.
    const stored = await app.trpc<RunEvent[]>('runs.events', { runId, since: 0 });
    const logged = readEventLog(app.dataDir, runId);
    expect(stored.map((e) => e.seq)).toEqual(logged.map((e) => e.seq));
    const after = await snapshot(app);
    expectNothingLost(before, after);

    const t1 = Date.now();
    const nextRun = await runToEnd(app, quickGraph(dataset, { epochs: 2, seed: 400 }));
    expect(nextRun.run.status, nextRun.run.error ?? '').toBe('succeeded');
    report(GROUP, 'runner SIGKILL mid-run', {
      status: row.status,
      error: row.error,
      runEndedS: secs(endedMs),
      runnerBackS: secs(backMs),
      eventsStored: stored.length,
      eventsWritten: logged.length,
      nextRun: nextRun.run.status,
      nextRunS: secs(Date.now() - t1),
      before: counts(before),
      after: counts(after),
    });
  });

  it('web server SIGKILL mid-run: restarted on the same DATA_DIR, PGlite opens, stored events kept, the run ends', async () => {
    const runId = await startRun(app, endlessGraph(dataset, 12));
    await waitForEvent(app, runId, isEpoch);
    const before = await snapshot(app);
    const oldRunner = runnerPid(app);
    const t0 = Date.now();
    await app.kill();
    // Restarted at once, as a supervisor would (the old runner may still be shutting down).
    await app.restart();
    const webBackMs = Date.now() - t0;
    await app.waitForRunner();
    const runnerBackMs = Date.now() - t0;
    expect(app.logs()).not.toMatch(/already open by process/);

    // The orphaned runner stops its run when the web server is gone (its stdin closes): the run ends interrupted,
    // not cancelled and not failed with a crash of its own (its log lines to the dead web server used to fail it with EPIPE).
    const row = await waitForRunEnd(app, runId, 60_000);
    const endedMs = Date.now() - t0;
    // Nobody cancelled it: it ends interrupted, and says why.
    expect(row.status).toBe('interrupted');
    expect(row.error ?? '').toMatch(/^Interrupted/);
    expect(row.error ?? '').not.toMatch(/EPIPE|uncaught/);
    await waitUntil('the old runner to exit', async () => !isAlive(oldRunner), 30_000);

    const stored = await app.trpc<RunEvent[]>('runs.events', { runId, since: 0 });
    const logged = readEventLog(app.dataDir, runId);
    const after = await snapshot(app);
    expectNothingLost(before, after);
    // The events written before the crash are all there (the runner may have written its last ones after).
    expect(stored.length).toBeGreaterThanOrEqual(before.events.get(runId)?.length ?? 0);
    expect(logged.slice(0, stored.length).map((e) => e.seq)).toEqual(stored.map((e) => e.seq));

    const nextRun = await runToEnd(app, quickGraph(dataset, { epochs: 2, seed: 500 }));
    expect(nextRun.run.status, nextRun.run.error ?? '').toBe('succeeded');
    report(GROUP, 'web server SIGKILL mid-run', {
      status: row.status,
      error: row.error,
      webBackS: secs(webBackMs),
      runnerBackS: secs(runnerBackMs),
      runEndedS: secs(endedMs),
      eventsStoredBeforeKill: before.events.get(runId)?.length ?? 0,
      eventsStoredAfter: stored.length,
      eventsWritten: logged.length,
      nextRun: nextRun.run.status,
      before: counts(before),
      after: counts(after),
    });
  });
});
