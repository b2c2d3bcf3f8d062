/**
 * RUNNER_MAX_QUEUED seen from the web API: a real runner (in-process, real tRPC + socket.io, an executor that
 * holds its run until cancelled) behind the real runner link and bridge. Once its queue is full, runs.start
 * answers TOO_MANY_REQUESTS with the runner's message naming the limit, and the refused run's row says why.
 */
import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline } from '@defectflow/nodes';
import type { RunnerServer } from '@defectflow/runner';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../server/log.ts';
import { RunnerBridge } from '../server/runner-bridge.ts';
import type { RunnerLink } from '../server/runner-link.ts';
import { makeCaller, memoryDb, tempDir } from './helpers.ts';
import { startStubRunner } from './stub-runner.ts';

const TOKEN = 'queue-limit-token-0123456789';
let db: DbHandle;
let runner: RunnerServer;
let link: RunnerLink;
let bridge: RunnerBridge;

beforeAll(async () => {
  db = await memoryDb();
  const dataDir = tempDir('df-web-queue-');
  ({ runner, link } = await startStubRunner(
    TOKEN,
    dataDir,
    // Holds every run until it is cancelled: the queue stays full for as long as the test needs.
    (opts) =>
      new Promise((resolve) =>
        opts.signal?.addEventListener('abort', () => resolve({ status: 'cancelled', outputs: {}, summaries: {}, timings: {}, cached: [] })),
      ),
    { concurrency: 1, maxQueued: 1 },
  ));
  bridge = new RunnerBridge({ repo: db.repo, link, relay: { runEvent() {}, runStatus() {}, runnerStatus() {} }, modelsDir: dataDir, log: silentLogger });
  bridge.start();
});
afterAll(async () => {
  await runner?.close();
  bridge?.stop();
  link?.close();
  await db?.close();
});

describe('runs.start when the runner queue is full', () => {
  it('answers TOO_MANY_REQUESTS naming RUNNER_MAX_QUEUED and records why the run did not start', async () => {
    const caller = makeCaller(db, bridge);
    const graph = createDefaultPipeline();
    expect(await caller.runs.start({ graph })).toMatchObject({ ok: true, position: 0 }); // running
    expect(await caller.runs.start({ graph })).toMatchObject({ ok: true, position: 1 }); // waiting
    const err = await caller.runs.start({ graph }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe('TOO_MANY_REQUESTS');
    expect((err as Error).message).toMatch(/The runner refused the run: .*queue is full.*RUNNER_MAX_QUEUED=1/);
    const refusedId = /Run (\S+) could not start/.exec((err as Error).message)?.[1] as string;
    expect(await db.repo.runs.get(refusedId)).toMatchObject({ status: 'failed', error: expect.stringMatching(/RUNNER_MAX_QUEUED=1/) });
  });
});
