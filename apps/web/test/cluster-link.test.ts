/**
 * The web server's side of cluster mode on a real redis-server: a run becomes a job with its place in the shared
 * queue, a waiting run is cancelled at once (removed from the queue, its ending appended), the runners' heartbeats
 * are the status, and the consumer group hands each event to one web server, which resumes its own unacknowledged
 * entries after a restart.
 */
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { appendEvent, readRunEvents, RUNNERS_SET, runnerKey } from '@defectflow/runner/cluster-protocol';
import { type RedisServer, startRedisServer } from '@defectflow/runner/testing/redis-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { RedisWindowLimiter } from '../server/cluster/rate-limit.ts';
import { connectRedisLink, type RedisLink } from '../server/cluster/redis-link.ts';
import { silentLogger } from '../server/log.ts';

let server: RedisServer;
let redis: Redis;
const links: RedisLink[] = [];

const graph = { version: 1, nodes: [], edges: [] } as unknown as PipelineGraph;

function link(consumer: string): RedisLink {
  const l = connectRedisLink({ redisUrl: server.url, consumer, log: silentLogger, claimAfterMs: 500 });
  links.push(l);
  return l;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterAll(async () => {
  for (const l of links.splice(0)) l.close();
  await redis?.quit();
  await server?.stop();
});

beforeEach(async () => {
  for (const l of links.splice(0)) l.close();
  await redis.flushall();
});

describe('cluster mode, web side (RedisLink)', () => {
  it('queues runs in priority order, says their position and cancels a waiting one at once', async () => {
    const web = link('web-a');
    expect(await web.start('run-1', graph)).toEqual({ accepted: true, position: 1 });
    expect(await web.start('run-2', graph, { priority: 'low' })).toEqual({ accepted: true, position: 2 });
    expect(await web.start('run-3', graph, { priority: 'high' })).toEqual({ accepted: true, position: 1 });
    expect((await web.capabilities()).queue).toEqual(['run-3', 'run-1', 'run-2']);

    expect(await web.cancel('run-1')).toEqual({ cancelled: true });
    expect((await web.capabilities()).queue).toEqual(['run-3', 'run-2']);
    const events = await readRunEvents(redis, 'run-1', 0);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ seq: 1, type: 'run.finished', status: 'cancelled' });
    // A run that is gone (finished and cleaned up) is not cancelled again.
    expect(await web.cancel('no-such-run')).toEqual({ cancelled: false });
  });

  it('reports the runners that announced themselves, and none once their heartbeat expired', async () => {
    const web = link('web-a');
    const beat = { runnerId: 'gpu-1', host: 'box', pid: 1, version: '0.1.0', backend: 'tensorflow', device: 'GPU', queues: ['df-runs'], concurrency: 2, running: ['run-9'], freeMemory: 1, rss: 1, startedAt: 0, ts: 0 };
    await redis.multi().set(runnerKey('gpu-1'), JSON.stringify(beat), 'PX', 300).sadd(RUNNERS_SET, 'gpu-1').exec();
    const caps = await web.capabilities();
    expect(caps).toMatchObject({ backend: 'tensorflow', busy: true, running: ['run-9'], concurrency: 2 });
    expect(web.cluster().runners.map((r) => r.runnerId)).toEqual(['gpu-1']);
    await new Promise((r) => setTimeout(r, 400));
    expect((await web.capabilities()).backend).toBe('no runner');
  });

  it('hands each event to one web server, and a restarted one reads the entries it had not acknowledged', async () => {
    const a = link('web-a');
    const b = link('web-b');
    const got: { a: RunEvent[]; b: RunEvent[] } = { a: [], b: [] };
    a.onEvent((e) => void got.a.push(e));
    b.onEvent((e) => void got.b.push(e));
    for (let i = 0; i < 20; i++) await appendEvent(redis, `run-${i % 4}`, { type: 'log', level: 'info', message: `m${i}` } as never);
    await until('every event delivered once', async () => got.a.length + got.b.length === 20);
    const keys = [...got.a, ...got.b].map((e) => `${e.runId}#${e.seq}`);
    expect(new Set(keys).size).toBe(20);

    // web-c reads an entry, crashes before storing it (its listener never settles), and comes back under the same name.
    const c = link('web-c');
    c.onEvent(() => new Promise<void>(() => {}));
    a.close();
    b.close();
    await appendEvent(redis, 'run-x', { type: 'log', level: 'info', message: 'while c is down' } as never);
    await until('web-c to hold it unacknowledged', async () => {
      const pending = (await redis.xpending('df:events', 'web')) as [number, ...unknown[]];
      return Number(pending[0]) === 1;
    });
    c.close();
    const restarted = link('web-c');
    const again: RunEvent[] = [];
    restarted.onEvent((e) => void again.push(e));
    const event = await until('the pending entry again', async () => again.find((e) => e.runId === 'run-x'));
    expect(event).toMatchObject({ seq: 1, type: 'log' });
    await until('it to be acknowledged', async () => Number(((await redis.xpending('df:events', 'web')) as [number])[0]) === 0);
  });

  it('counts one prediction limit per token across web servers (PREDICT_RATE_PER_MIN)', async () => {
    const serverA = new RedisWindowLimiter(redis, 'predict', 3, 60_000);
    const serverB = new RedisWindowLimiter(redis, 'predict', 3, 60_000);
    const verdicts = [await serverA.take('token-1'), await serverB.take('token-1'), await serverA.take('token-1'), await serverB.take('token-1')];
    expect(verdicts.map((v) => v.ok)).toEqual([true, true, true, false]);
    expect(verdicts[3]?.retryAfterS).toBeGreaterThan(0);
    expect((await serverB.take('token-2')).ok).toBe(true); // another token has its own count
  });
});
