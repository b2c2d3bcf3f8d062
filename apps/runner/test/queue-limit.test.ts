/** RUNNER_MAX_QUEUED: a start beyond the queue limit is refused over real tRPC, and accepted again once the queue shrinks. */
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunnerClient } from '../src/client.ts';
import type { RunnerServer } from '../src/server.ts';
import { client, collectRun, startStubServer, stubGraph, tempDir } from './helpers.ts';

describe('runner queue length limit', () => {
  const tmp = tempDir();
  let server: RunnerServer;
  let c: RunnerClient;

  beforeAll(async () => {
    server = await startStubServer(tmp.dir, { maxQueued: 2 });
    c = client(server.url);
  });
  afterAll(async () => {
    c?.close();
    await server?.close();
    tmp.remove();
  });

  it('refuses the run past RUNNER_MAX_QUEUED with TOO_MANY_REQUESTS naming the limit', async () => {
    // One running (long) + two waiting fill the runner; the fourth is refused.
    const graph = (seed: number, epochs = 2) => stubGraph({ epochs, seed });
    expect(await c.trpc.runs.start.mutate({ runId: 'q-1', graph: graph(1, 200) })).toMatchObject({ accepted: true, position: 0 });
    expect(await c.trpc.runs.start.mutate({ runId: 'q-2', graph: graph(2) })).toMatchObject({ accepted: true, position: 1 });
    expect(await c.trpc.runs.start.mutate({ runId: 'q-3', graph: graph(3) })).toMatchObject({ accepted: true, position: 2 });
    const err = await c.trpc.runs.start.mutate({ runId: 'q-4', graph: graph(4) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCClientError);
    expect((err as TRPCClientError<never>).data).toMatchObject({ code: 'TOO_MANY_REQUESTS' });
    expect((err as Error).message).toMatch(/queue is full: 2 runs are waiting \(limit RUNNER_MAX_QUEUED=2\)/);
    expect((await c.trpc.capabilities.query()).queue).toEqual(['q-2', 'q-3']);

    // Cancelling a queued run frees a place: the refused id can be started now (it was never recorded).
    expect(await c.trpc.runs.cancel.mutate({ runId: 'q-3' })).toEqual({ cancelled: true });
    expect(await c.trpc.runs.start.mutate({ runId: 'q-4', graph: graph(4) })).toMatchObject({ accepted: true, position: 2 });
    const done = collectRun(c, 'q-4');
    await c.trpc.runs.cancel.mutate({ runId: 'q-1' });
    expect((await done).at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
  });
});
