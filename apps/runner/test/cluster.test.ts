/**
 * Cluster mode on a real redis-server: the append script's guarantees (gap-free numbering, fencing, nothing after
 * the ending) and runners as BullMQ workers — a run taken from the queue, cancelled while running, a run whose
 * earlier runner died ended `interrupted` naming it or retried once with its numbering continued.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent } from '@defectflow/nodes';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  appendEvent,
  CANCEL_CHANNEL,
  PREDICT_QUEUE,
  readRunEvents,
  RUN_QUEUE,
  type RunJobData,
  type RunnerHeartbeat,
  runKeys,
  runnerKey,
} from '../src/cluster/protocol.ts';
import type { RunnerServer } from '../src/server.ts';
import { type RedisServer, startRedisServer } from '../src/testing/redis-server.ts';
import { startStubServer, stubGraph, tempDir, waitFor } from './helpers.ts';

let server: RedisServer;
let redis: Redis;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

beforeEach(async () => {
  await redis.flushall();
});

const started = (n: number) => ({ type: 'node.started' as const, nodeId: `n${n}`, nodeType: 'dataset' });

describe('appendEvent (the Lua script every writer goes through)', () => {
  it('numbers a run gap-free across writers and refuses a seq that is not the next one', async () => {
    expect(await appendEvent(redis, 'run-a', started(1), { seq: 1 })).toEqual({ ok: true, seq: 1 });
    // A web server writing without a seq continues the numbering.
    expect(await appendEvent(redis, 'run-a', started(2))).toEqual({ ok: true, seq: 2 });
    expect(await appendEvent(redis, 'run-a', started(3), { seq: 2 })).toEqual({ ok: false, reason: 'out_of_order', lastSeq: 2 });
    expect(await appendEvent(redis, 'run-a', started(4), { seq: 4 })).toEqual({ ok: false, reason: 'out_of_order', lastSeq: 2 });
    const events = await readRunEvents(redis, 'run-a', 0);
    expect(events.map((e) => e.seq)).toEqual([1, 2]);
    expect(events[1]).toMatchObject({ runId: 'run-a', type: 'node.started', nodeId: 'n2' });
    expect((await readRunEvents(redis, 'run-a', 1)).map((e) => e.seq)).toEqual([2]);
    // Every append is copied to the shared stream the web servers read.
    expect(await redis.xlen('df:events')).toBe(2);
  });

  it('lets only the holding attempt write (fencing) and nothing after run.finished', async () => {
    await redis.set(runKeys('run-b').holder, 'attempt-2');
    expect(await appendEvent(redis, 'run-b', started(1), { seq: 1, holder: 'attempt-1' })).toMatchObject({ ok: false, reason: 'fenced' });
    expect(await appendEvent(redis, 'run-b', started(1), { seq: 1, holder: 'attempt-2' })).toEqual({ ok: true, seq: 1 });
    expect(await appendEvent(redis, 'run-b', { type: 'run.finished', status: 'succeeded', durationMs: 5 }, { seq: 2, holder: 'attempt-2' })).toEqual({
      ok: true,
      seq: 2,
    });
    expect(await appendEvent(redis, 'run-b', { type: 'run.finished', status: 'cancelled', durationMs: 0 })).toEqual({
      ok: false,
      reason: 'finished',
      lastSeq: 2,
    });
    expect((await readRunEvents(redis, 'run-b', 0)).map((e) => e.type)).toEqual(['node.started', 'run.finished']);
    expect(await redis.ttl(runKeys('run-b').stream)).toBeGreaterThan(0); // a finished run's stream expires
  });
});

describe('a runner as a BullMQ worker', () => {
  const dirs: Array<{ remove(): void }> = [];
  const runners: RunnerServer[] = [];
  let queue: Queue<RunJobData>;

  const startClusterRunner = async (runnerId: string, epochDelayMs = 20) => {
    const tmp = tempDir();
    dirs.push(tmp);
    const { stubRunFns } = await import('./helpers.ts');
    const runner = await startStubServer(tmp.dir, {
      runnerId,
      runFns: stubRunFns(epochDelayMs),
      cluster: { redisUrl: server.url, lockMs: 2000, stalledCheckMs: 500 },
    });
    runners.push(runner);
    return Object.assign(runner, { dir: tmp.dir });
  };

  const waitForEnd = async (runId: string, timeoutMs = 20_000): Promise<RunEvent[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const events = await readRunEvents(redis, runId, 0);
      if (events.at(-1)?.type === 'run.finished') return events;
      if (Date.now() > deadline) throw new Error(`run ${runId} did not finish: ${JSON.stringify(events.slice(-3))}`);
      await sleep(50);
    }
  };

  beforeAll(() => {
    queue = new Queue<RunJobData>(RUN_QUEUE, { connection: redis });
  });

  afterAll(async () => {
    await queue?.close();
  });

  beforeEach(async () => {
    for (const r of runners.splice(0)) await r.close();
    for (const d of dirs.splice(0)) d.remove();
  });

  afterAll(async () => {
    for (const r of runners.splice(0)) await r.close();
    for (const d of dirs.splice(0)) d.remove();
  });

  it('takes a queued run, publishes every event gap-free with its runner named, and announces itself', async () => {
    await startClusterRunner('runner-1');
    await queue.add('run', { runId: 'run-ok', graph: stubGraph({ epochs: 2 }) }, { jobId: 'run-ok' });
    const events = await waitForEnd('run-ok');
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events[0]).toMatchObject({ type: 'run.started', runnerId: 'runner-1' });
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(events.filter((e) => e.type === 'train.epoch')).toHaveLength(2);
    const beat = JSON.parse((await redis.get(runnerKey('runner-1'))) ?? 'null') as RunnerHeartbeat;
    expect(beat).toMatchObject({ runnerId: 'runner-1', backend: 'stub', concurrency: 1, queues: [RUN_QUEUE, PREDICT_QUEUE] });
    expect(await redis.ttl(runnerKey('runner-1'))).toBeGreaterThan(0);
  });

  it('stops a running run when a web server publishes its cancel', async () => {
    await startClusterRunner('runner-1', 200);
    await queue.add('run', { runId: 'run-cancel', graph: stubGraph({ epochs: 50 }) }, { jobId: 'run-cancel' });
    const deadline = Date.now() + 10_000;
    while (!(await readRunEvents(redis, 'run-cancel', 0)).some((e) => e.type === 'train.epoch')) {
      if (Date.now() > deadline) throw new Error('the run never trained');
      await sleep(50);
    }
    await redis.set(runKeys('run-cancel').cancel, '1');
    await redis.publish(CANCEL_CHANNEL, 'run-cancel');
    const events = await waitForEnd('run-cancel');
    expect(events.at(-1)).toMatchObject({ type: 'run.finished', status: 'cancelled' });
    expect(events.filter((e) => e.type === 'train.epoch').length).toBeLessThan(50);
  });

  it('ends interrupted, naming it, a run whose earlier runner died; or runs it once more when retry was asked', async () => {
    // What a runner that died mid-run leaves behind: the attempt counted, its id, the events it had published.
    for (const runId of ['run-lost', 'run-retry']) {
      await redis.set(runKeys(runId).attempts, '1');
      await redis.set(runKeys(runId).runner, 'gpu-box-7');
      await appendEvent(redis, runId, { type: 'run.started', backend: 'stub', device: 'test', runnerId: 'gpu-box-7' }, { seq: 1 });
      await appendEvent(redis, runId, started(1), { seq: 2 });
    }
    await startClusterRunner('runner-2');
    await queue.add('run', { runId: 'run-lost', graph: stubGraph({ epochs: 2 }) }, { jobId: 'run-lost' });
    await queue.add('run', { runId: 'run-retry', graph: stubGraph({ epochs: 2 }), retryOnLoss: true }, { jobId: 'run-retry' });

    const lost = await waitForEnd('run-lost');
    expect(lost.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(lost.at(-1)).toMatchObject({ type: 'run.finished', status: 'interrupted' });
    expect((lost.at(-1) as { error?: string }).error).toMatch(/runner gpu-box-7 stopped while it held the run/);

    const retried = await waitForEnd('run-retry');
    expect(retried.map((e) => e.seq)).toEqual(retried.map((_, i) => i + 1)); // numbering continued from 2
    expect(retried.filter((e) => e.type === 'run.started').map((e) => (e as { runnerId?: string }).runnerId)).toEqual(['gpu-box-7', 'runner-2']);
    expect(retried.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
  });

  it('notices a runner that stopped renewing its job lock and hands the run to another runner', async () => {
    const first = await startClusterRunner('runner-a', 300);
    await queue.add('run', { runId: 'run-stall', graph: stubGraph({ epochs: 100 }), retryOnLoss: true }, { jobId: 'run-stall' });
    const deadline = Date.now() + 10_000;
    while (!(await readRunEvents(redis, 'run-stall', 0)).some((e) => e.type === 'train.epoch')) {
      if (Date.now() > deadline) throw new Error('the run never trained');
      await sleep(50);
    }
    // A frozen runner: its lock is gone (as after SIGKILL, once lockMs passed) but it still computes and tries to publish.
    await redis.del('bull:df-runs:run-stall:lock');
    const second = await startClusterRunner('runner-b', 1);
    const events = await (async () => {
      const until = Date.now() + 20_000;
      for (;;) {
        const list = await readRunEvents(redis, 'run-stall', 0);
        const starts = list.filter((e) => e.type === 'run.started');
        if (starts.length >= 2) return list;
        if (Date.now() > until) throw new Error(`no second start: ${JSON.stringify(list.slice(-2))}`);
        await sleep(50);
      }
    })();
    expect(events.filter((e) => e.type === 'run.started').map((e) => (e as { runnerId?: string }).runnerId)).toEqual(['runner-a', 'runner-b']);
    // The first attempt is fenced off: once runner-b holds the run, runner-a's events are refused and it stops.
    const final = await waitForEnd('run-stall', 30_000);
    expect(final.map((e) => e.seq)).toEqual(final.map((_, i) => i + 1));
    const afterSecondStart = final.slice(final.findIndex((e) => e.type === 'run.started' && (e as { runnerId?: string }).runnerId === 'runner-b'));
    expect(afterSecondStart.filter((e) => e.type === 'train.epoch').every((e) => (e as { epoch: number }).epoch >= 1)).toBe(true);
    expect(final.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    // runner-a learnt it from the refused append and stopped computing (its own log says so).
    await waitFor(() => existsSync(join(first.dir, 'runs', 'run-stall', 'events.jsonl')) && readFileSync(join(first.dir, 'runs', 'run-stall', 'events.jsonl'), 'utf8').includes('Another runner took this run over'), 'runner-a to stop', 10_000);
    await first.close();
    await second.close();
  });
});
