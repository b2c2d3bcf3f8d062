/**
 * PostgreSQL stopped and started again mid-run: the web server on DATABASE_URL pointing at a PostgreSQL
 * server of this test's own (src/postgres-server.ts; stopping the shared cluster would break other suites),
 * its embedded runner training meanwhile. While the database is down the API answers with an error; once it
 * is back every event the runner wrote is stored (no gap), the run's row is right and the next run works.
 */
import type { RunEvent } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppHandle, createTinyDataset } from '../src/harness.ts';
import { type PgServer, startPgServer } from '../src/postgres-server.ts';
import {
  counts,
  endApp,
  expectNothingLost,
  quickGraph,
  readEventLog,
  report,
  runToEnd,
  secs,
  sleep,
  snapshot,
  startAppWithRunner,
  startRun,
  waitForEvent,
  waitForRunEnd,
  waitUntil,
} from '../src/reliability.ts';

describe('faults: PostgreSQL stopped and restarted mid-run', () => {
  let pg: PgServer;
  let app: AppHandle;
  let dataset: string;

  beforeAll(async () => {
    pg = await startPgServer();
    app = await startAppWithRunner({ env: { DATABASE_URL: pg.url } });
    dataset = await createTinyDataset(app, 'tiny-pg', 8);
  });

  afterAll(async () => {
    await endApp(app, 'faults-postgres');
    pg?.dispose();
  });

  it('the run keeps every event and finishes; the API fails clearly while the database is down, then recovers', async () => {
    const first = await runToEnd(app, quickGraph(dataset, { epochs: 2 }, { name: 'pg-baseline', gateMetric: 'none' }));
    expect(first.run.status, first.run.error ?? '').toBe('succeeded');

    // Long enough to outlast the outage (fine-tuning makes each epoch slow), short enough to finish after it.
    const graph = quickGraph(dataset, { epochs: 12, batchSize: 2, seed: 5 }, false, { mode: 'upTo', upToBlock: 'block_3_expand_relu' });
    const runId = await startRun(app, graph);
    await waitForEvent(app, runId, (e) => e.type === 'train.epoch');
    const before = await snapshot(app);
    const loggedAtStop = readEventLog(app.dataDir, runId).length;
    const t0 = Date.now();
    pg.stop();
    const stoppedAt = Date.now();
    // What a user sees meanwhile: the API answers with an error instead of hanging.
    const downError = await app.trpc('runs.get', { runId }).then(
      () => 'answered',
      (err: Error) => err.message,
    );
    // …and says what is wrong in words, not with the SQL text of the failed query.
    expect(downError).toMatch(/database cannot be reached/);
    expect(downError).not.toMatch(/Failed query|select /);
    await sleep(3000);
    const loggedWhileDown = readEventLog(app.dataDir, runId).length - loggedAtStop;
    pg.start();
    const downMs = Date.now() - stoppedAt;
    await waitUntil('the API to answer again', () => app.trpc('runs.get', { runId }), 60_000);
    const apiBackMs = Date.now() - t0;

    const row = await waitForRunEnd(app, runId, 300_000);
    expect(row.status, row.error ?? '').toBe('succeeded');
    // Every event the runner wrote, also those of the outage, is stored once, in order, with no gap.
    const logged = readEventLog(app.dataDir, runId);
    let stored: RunEvent[] = [];
    // The events the database missed are fetched from the runner again (with backoff): give that a minute.
    await waitUntil(
      'the stored events to catch up with the runner',
      async () => {
        stored = await app.trpc<RunEvent[]>('runs.events', { runId, since: 0 });
        return stored.length >= logged.length;
      },
      60_000,
    ).catch(() => undefined);
    const caughtUpMs = Date.now() - t0;
    expect(stored.map((e) => e.seq)).toEqual(logged.map((e) => e.seq));
    // lastSeq counts only stored events without a gap (what a resync asks the runner for).
    expect((await app.trpc<{ lastSeq: number }>('runs.get', { runId })).lastSeq).toBe(logged.length);
    const after = await snapshot(app);
    expectNothingLost(before, after);

    const next = await runToEnd(app, quickGraph(dataset, { epochs: 2, seed: 6 }));
    expect(next.run.status, next.run.error ?? '').toBe('succeeded');
    report('faults', 'PostgreSQL stopped and restarted mid-run', {
      downS: secs(downMs),
      apiWhileDown: downError.slice(0, 160),
      eventsWrittenWhileDown: loggedWhileDown,
      apiBackS: secs(apiBackMs),
      eventsCaughtUpS: secs(caughtUpMs),
      status: row.status,
      eventsStored: stored.length,
      eventsWritten: logged.length,
      nextRun: next.run.status,
      before: counts(before),
      after: counts(after),
    });
  });
});
