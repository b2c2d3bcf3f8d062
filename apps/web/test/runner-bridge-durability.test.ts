import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline, type RunEvent } from '@defectflow/nodes';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Logger } from '../server/log.ts';
import { RunnerBridge, type RunRelay } from '../server/runner-bridge.ts';
import { FakeLink, memoryDb, RecordingRelay, waitFor } from './helpers.ts';

let db: DbHandle;
beforeAll(async () => {
  db = await memoryDb();
});
afterAll(async () => {
  await db.close();
});

class RecordingLog implements Logger {
  lines: string[] = [];
  info(m: string) {
    this.lines.push(m);
  }
  warn(m: string) {
    this.lines.push(m);
  }
  error(m: string) {
    this.lines.push(m);
  }
}

const bridges: RunnerBridge[] = [];
afterEach(() => {
  for (const b of bridges.splice(0)) b.stop();
});

function bridgeFor(link: FakeLink, relay: RunRelay, options: { lostAfterMs?: number; log?: Logger; retryAfterMs?: number } = {}) {
  const bridge = new RunnerBridge({ repo: db.repo, link, relay, modelsDir: '/models', ...options });
  bridges.push(bridge);
  bridge.start();
  return bridge;
}

describe('RunnerBridge: an event and the row change it causes are one transaction', () => {
  it('a failed run-row update after run.finished stores neither; the events are fetched again and the row ends finished', async () => {
    // A real database failure, once: the first update of a row to 'succeeded' raises (sequences are not transactional).
    const setup = [
      'create sequence finish_attempts',
      `create function fail_first_finish() returns trigger language plpgsql as $$
      begin
        if new.status = 'succeeded' and nextval('finish_attempts') = 1 then raise exception 'injected: run row update failed'; end if;
        return new;
      end $$`,
      'create trigger fail_first_finish before update on runs for each row execute function fail_first_finish()',
    ];
    for (const statement of setup) await db.db.execute(sql.raw(statement));
    try {
      // The refetch waits for `gate`, so the state between the failure and the retry can be looked at.
      let open = () => {};
      const gate = new Promise<void>((resolve) => (open = resolve));
      const link = new (class extends FakeLink {
        override async events(runId: string, since: number) {
          await gate;
          return super.events(runId, since);
        }
      })();
      link.connected = true;
      const relay = new RecordingRelay();
      const log = new RecordingLog();
      const bridge = bridgeFor(link, relay, { log, retryAfterMs: 10 });
      await bridge.idle();
      const runId = (await db.repo.runs.create({ graph: createDefaultPipeline() })).id;

      link.record(runId, { type: 'run.started', backend: 'cpu', device: 'cpu' });
      link.record(runId, { type: 'node.log', level: 'info', message: 'working' });
      link.record(runId, { type: 'run.finished', status: 'succeeded', durationMs: 10 });
      // Logged after the rollback; the refetch is held at the gate meanwhile (so no idle() here).
      await waitFor(() => log.lines.some((l) => l.includes(`run ${runId}: storing its events failed`)));
      // Rolled back together: the run.finished event is not stored, so the row is not final either way.
      expect((await db.repo.runEvents.list(runId)).map((e) => e.type)).toEqual(['run.started', 'node.log']);
      expect(await db.repo.runs.get(runId)).toMatchObject({ status: 'running', lastSeq: 2, finishedAt: null });
      expect(relay.statuses).toEqual([]);

      open();
      await waitFor(async () => (await db.repo.runs.get(runId))?.status === 'succeeded');
      await bridge.idle();
      expect(await db.repo.runEvents.list(runId)).toEqual(link.log.get(runId) as RunEvent[]);
      expect(await db.repo.runs.get(runId)).toMatchObject({ status: 'succeeded', lastSeq: 3, error: null });
      expect(relay.statuses).toEqual([{ runId, status: 'succeeded', error: null }]);
    } finally {
      for (const statement of ['drop trigger fail_first_finish on runs', 'drop function fail_first_finish', 'drop sequence finish_attempts']) {
        await db.db.execute(sql.raw(statement));
      }
    }
  });
});

describe('RunnerBridge: runs are owned by the runner that holds them', () => {
  it('two web servers on one database with different runners never interrupt each other’s runs', async () => {
    const linkA = new FakeLink();
    linkA.caps = { ...linkA.caps, runnerId: 'runner-a' };
    linkA.connected = true;
    const linkB = new FakeLink();
    linkB.caps = { ...linkB.caps, runnerId: 'runner-b' };
    linkB.connected = true;
    const bridgeA = bridgeFor(linkA, new RecordingRelay(), { lostAfterMs: 100 });
    const bridgeB = bridgeFor(linkB, new RecordingRelay(), { lostAfterMs: 100 });
    await Promise.all([bridgeA.idle(), bridgeB.idle()]);

    const start = async (bridge: RunnerBridge, link: FakeLink) => {
      const runId = crypto.randomUUID();
      await bridge.startRun(runId, createDefaultPipeline(), async () => {
        await db.repo.runs.create({ id: runId, graph: createDefaultPipeline() });
      });
      link.caps = { ...link.caps, queue: [...link.caps.queue, runId] };
      return runId;
    };
    const runA = await start(bridgeA, linkA);
    const runB = await start(bridgeB, linkB);
    expect(await db.repo.runs.get(runA)).toMatchObject({ runnerId: 'runner-a', status: 'queued' });
    expect(await db.repo.runs.get(runB)).toMatchObject({ runnerId: 'runner-b', status: 'queued' });

    // Runner A restarts and knows none of its runs: server A interrupts its own run, not B's.
    linkA.caps = { ...linkA.caps, queue: [] };
    linkA.setConnected(false);
    linkA.setConnected(true);
    await waitFor(async () => (await db.repo.runs.get(runA))?.status === 'interrupted');
    await bridgeA.idle();
    expect((await db.repo.runs.get(runB))?.status).toBe('queued');

    // Runner A stays unreachable: after lostAfterMs server A gives up on its runs, still not on B's.
    const runA2 = await start(bridgeA, linkA);
    linkA.setConnected(false);
    await waitFor(async () => (await db.repo.runs.get(runA2))?.status === 'interrupted');
    await bridgeA.idle();
    expect((await db.repo.runs.get(runB))?.status).toBe('queued');

    // Server B reconnecting to its runner, which still has B's run, keeps it.
    linkB.setConnected(false);
    linkB.setConnected(true);
    await bridgeB.idle();
    expect((await db.repo.runs.get(runB))?.status).toBe('queued');
    // A run.started from runner B lands on its row as before.
    linkB.record(runB, { type: 'run.started', backend: 'cpu', device: 'cpu' });
    await bridgeB.idle();
    expect(await db.repo.runs.get(runB)).toMatchObject({ status: 'running', runnerId: 'runner-b' });
    await db.repo.runs.markInterrupted([runB]);
  });
});
