/**
 * Cluster mode: a sweep is driven by the loop of the web server that started it (`web:<WEB_ID>`). Its restart judges
 * only its own sweeps; another server interrupts the sweeps of a server that is gone (its presence key expired or
 * deleted on a clean stop) and cancels their runs; a live server's sweeps are left alone. Real redis-server, PGlite.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DbHandle } from '@defectflow/db';
import type { PipelineGraph } from '@defectflow/nodes';
import { type RedisServer, startRedisServer } from '@defectflow/runner/testing/redis-server';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWebPresence, webPresenceKey } from '../server/cluster/web-presence.ts';
import { silentLogger } from '../server/log.ts';
import { SWEEP_RESTART_ERROR, SweepController } from '../server/sweeps/controller.ts';
import type { RunnerControl } from '../server/trpc.ts';
import { FakeRunnerControl, memoryDb } from './helpers.ts';

const CHILD = fileURLToPath(new URL('./fixtures/presence-child.ts', import.meta.url));
let server: RedisServer;
let redis: Redis;
let db: DbHandle;
const graph = { version: 1, nodes: [], edges: [] } as unknown as PipelineGraph;

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
  db = await memoryDb();
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
  await db?.close();
});

/** A web server's sweep controller in cluster mode: its bridge's runner id is `web:<WEB_ID>`. */
function webServer(webId: string): { sweeps: SweepController; cancels: string[] } {
  const cancels: string[] = [];
  const fake = new FakeRunnerControl();
  const runner: RunnerControl = {
    runnerId: `web:${webId}`,
    status: () => fake.status(),
    startRun: (runId, graph, record) => fake.startRun(runId, graph, record),
    cancelRun: async (runId) => {
      cancels.push(runId);
      return { cancelled: true };
    },
  };
  return { sweeps: new SweepController({ repo: db.repo, runner, maxRunning: 2, log: silentLogger }), cancels };
}

async function runningSweep(name: string, driverId: string) {
  const sweep = await db.repo.sweeps.create({ name, graph, spec: { dimensions: [] }, trialsPlanned: 2, driverId });
  const run = await db.repo.runs.create({ graph, sweepId: sweep.id, sweepTrial: { index: 0, rung: 0, role: 'trial', params: {} } });
  return { sweep, run };
}

describe('sweeps across web servers (cluster mode)', () => {
  it('a live server keeps its sweeps; a gone one’s are interrupted by another and their runs cancelled; a restart judges only its own', async () => {
    const a = await startWebPresence(redis, 'web-a', { log: silentLogger, intervalMs: 100, ttlMs: 1500 });
    const b = await startWebPresence(redis, 'web-b', { log: silentLogger, intervalMs: 100, ttlMs: 1500 });
    expect(await redis.exists(webPresenceKey('web-a'))).toBe(1);
    const ofA = await runningSweep('driven by a', 'web:web-a');
    const ofB = await runningSweep('driven by b', 'web:web-b');
    const serverB = webServer('web-b');
    const alive = (driver: string) => b.isAlive(driver.slice('web:'.length));

    // web-a is alive: web-b leaves its sweep running.
    await new Promise((r) => setTimeout(r, 1700)); // past the TTL: the refresh keeps the key
    expect(await serverB.sweeps.recoverAbandoned(alive)).toEqual([]);
    expect((await db.repo.sweeps.get(ofA.sweep.id))?.status).toBe('running');

    // web-b restarting judges only its own sweeps (and unnamed ones), never web-a's.
    const restartedB = webServer('web-b');
    expect((await restartedB.sweeps.recover('web:web-b')).map((s) => s.id)).toEqual([ofB.sweep.id]);
    expect(restartedB.cancels).toEqual([ofB.run.id]);
    expect((await db.repo.sweeps.get(ofA.sweep.id))?.status).toBe('running');

    // web-a stops for good (a clean stop deletes its key at once): web-b interrupts its sweep and cancels the run.
    await a.close();
    expect(await redis.exists(webPresenceKey('web-a'))).toBe(0);
    const changed = await restartedB.sweeps.recoverAbandoned(alive);
    expect(changed.map((s) => s.id)).toEqual([ofA.sweep.id]);
    const after = await db.repo.sweeps.get(ofA.sweep.id);
    expect([after?.status, after?.error]).toEqual(['interrupted', SWEEP_RESTART_ERROR]);
    expect(restartedB.cancels).toEqual([ofB.run.id, ofA.run.id]);
    // Judged once: a second check (or a third server) changes nothing.
    expect(await webServer('web-c').sweeps.recoverAbandoned(alive)).toEqual([]);
    await b.close();
  });

  it('a server killed without a clean stop is gone once its presence key expires', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, server.url, 'web-k'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
      child.once('exit', (code) => reject(new Error(`presence child exited ${code}`)));
    });
    const observer = await startWebPresence(redis, 'web-o', { log: silentLogger, intervalMs: 100, ttlMs: 1500 });
    const { sweep } = await runningSweep('driven by k', 'web:web-k');
    const serverO = webServer('web-o');
    const alive = (driver: string) => observer.isAlive(driver.slice('web:'.length));
    await new Promise((r) => setTimeout(r, 1700)); // past the TTL: the refresh keeps the key
    expect(await serverO.sweeps.recoverAbandoned(alive)).toEqual([]);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    // The key outlives the process by at most its TTL.
    await new Promise((r) => setTimeout(r, 1700));
    expect(await redis.exists(webPresenceKey('web-k'))).toBe(0);
    expect((await serverO.sweeps.recoverAbandoned(alive)).map((s) => s.id)).toEqual([sweep.id]);
    await observer.close();
  });
});
