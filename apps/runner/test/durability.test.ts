import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunEvent } from '@defectflow/nodes';
import type { NodeRunFn } from '@defectflow/nodes/runtime';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunnerServer } from '../src/server.ts';
import { client, collectRun, finishedStatus, startStubServer, stubGraph, stubRunFns, tempDir, waitFor } from './helpers.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function stubServer(overrides: Parameters<typeof startStubServer>[1] = {}): Promise<{ server: RunnerServer; dataDir: string }> {
  const tmp = tempDir();
  const server = await startStubServer(tmp.dir, overrides);
  cleanups.push(() => tmp.remove(), () => server.close());
  return { server, dataDir: tmp.dir };
}

function connect(server: RunnerServer) {
  const c = client(server.url);
  cleanups.push(() => c.close());
  return c;
}

/** The stub nodes; run `slowRunId`'s train node notices a cancel only after `lingerMs` more work (like a native batch). */
function lingeringTrain(slowRunId: string, lingerMs: number, returned: { at?: number }): Record<string, NodeRunFn> {
  const stubs = stubRunFns();
  return {
    ...stubs,
    train: async (inputs, params, ctx) => {
      if (ctx.runId !== slowRunId) return (stubs.train as NodeRunFn)(inputs, params, ctx);
      while (!ctx.signal.aborted) await sleep(10);
      await sleep(lingerMs); // the batch in flight when the cancel came: not interruptible
      returned.at = Date.now();
      throw new Error('cancelled');
    },
  };
}

describe('cancel waits for the run to really end', () => {
  it('keeps the slot until the cancelled node returns: the next run starts only after it', async () => {
    const returned: { at?: number } = {};
    const { server } = await stubServer({ runFns: lingeringTrain('slow', 600, returned) });
    const c = connect(server);
    const slow: RunEvent[] = [];
    const first = new Promise<void>((resolve) =>
      c.subscribe('slow', 0, (e) => {
        slow.push(e);
        if (e.type === 'run.finished') resolve();
      }),
    );
    const second = collectRun(c, 'next');
    await c.trpc.runs.start.mutate({ runId: 'slow', graph: stubGraph({ seed: 1 }) });
    await c.trpc.runs.start.mutate({ runId: 'next', graph: stubGraph({ datasetPath: 'other', seed: 2 }) });
    await waitFor(() => slow.some((e) => e.type === 'node.started' && e.nodeId === 'train'), 'the train node to start');
    expect(await c.trpc.runs.cancel.mutate({ runId: 'slow' })).toEqual({ cancelled: true });
    await first;
    expect(finishedStatus(slow)).toBe('cancelled');
    // The cancelled run says so at once, but still holds the runner while its node computes.
    expect(slow.at(-1)!.ts).toBeLessThan(returned.at ?? Number.POSITIVE_INFINITY);
    expect((await c.trpc.capabilities.query()).running).toEqual(['slow']);

    const next = await second;
    expect(finishedStatus(next)).toBe('succeeded');
    expect(returned.at).toBeDefined();
    expect(next[0]).toMatchObject({ type: 'run.started' });
    expect(next[0]!.ts).toBeGreaterThanOrEqual(returned.at!);
  });

  it('past the deadline a node that never returns asks for a restart, and queued runs end failed saying why', async () => {
    const stuck: Array<{ runId: string; reason: string }> = [];
    const { server } = await stubServer({
      cancelDeadlineMs: 300,
      cancelGraceMs: 200,
      onStuckRun: (runId, reason) => stuck.push({ runId, reason }),
      runFns: { ...stubRunFns(), train: () => new Promise(() => {}) },
    });
    const c = connect(server);
    const hung = collectRun(c, 'hung');
    const queued = collectRun(c, 'queued');
    await c.trpc.runs.start.mutate({ runId: 'hung', graph: stubGraph({ seed: 3 }) });
    await c.trpc.runs.start.mutate({ runId: 'queued', graph: stubGraph({ datasetPath: 'other', seed: 4 }) });
    await sleep(100);
    await c.trpc.runs.cancel.mutate({ runId: 'hung' });
    expect(finishedStatus(await hung)).toBe('cancelled');
    const queuedRun = await queued;
    expect(queuedRun).toHaveLength(1);
    expect(queuedRun[0]).toMatchObject({ type: 'run.finished', status: 'failed' });
    expect((queuedRun[0] as { error?: string }).error).toMatch(/not started: the runner restarts because run hung did not stop within 0.3 s .*RUNNER_CANCEL_DEADLINE_S/);
    expect(stuck).toEqual([{ runId: 'hung', reason: expect.stringContaining('RUNNER_CANCEL_DEADLINE_S') }]);
  });
});

/** An events.jsonl writer that fails like a full disk for the lines `fails` picks. */
function diskFullFor(fails: (line: string) => boolean) {
  return {
    appendLine(file: string, line: string) {
      if (fails(line)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      appendFileSync(file, line);
    },
  };
}

describe('a run whose event log cannot be written', () => {
  it('ends failed naming the cause, and the queue moves on', async () => {
    // Disk full from the fourth event of run "full" on.
    const { server } = await stubServer({
      eventLog: diskFullFor((line) => {
        const event = JSON.parse(line) as RunEvent;
        return event.runId === 'full' && event.seq >= 4;
      }),
    });
    const c = connect(server);
    const full = collectRun(c, 'full');
    const after = collectRun(c, 'after');
    await c.trpc.runs.start.mutate({ runId: 'full', graph: stubGraph({ epochs: 50, seed: 5 }) });
    await c.trpc.runs.start.mutate({ runId: 'after', graph: stubGraph({ seed: 6 }) });
    const events = await full;
    const end = events.at(-1) as Extract<RunEvent, { type: 'run.finished' }>;
    expect(end).toMatchObject({ type: 'run.finished', status: 'failed', seq: 4 });
    expect(end.error).toContain('could not write the run\'s event log (DATA_DIR/runs/full/events.jsonl): ENOSPC');
    // A refetch (a reconnecting web server) gets the ending too, from memory.
    expect((await c.trpc.runs.events.query({ runId: 'full', since: 3 })).map((e) => e.type)).toEqual(['run.finished']);
    expect(finishedStatus(await after)).toBe('succeeded');
    await server.idle();
    expect(await c.trpc.capabilities.query()).toMatchObject({ busy: false, running: [] });
  });

  it('frees the slot when only the final run.finished cannot be written', async () => {
    const { server } = await stubServer({
      eventLog: diskFullFor((line) => line.includes('"runId":"last"') && line.includes('"type":"run.finished"')),
    });
    const c = connect(server);
    const last = collectRun(c, 'last');
    const after = collectRun(c, 'after-last');
    await c.trpc.runs.start.mutate({ runId: 'last', graph: stubGraph({ seed: 7 }) });
    await c.trpc.runs.start.mutate({ runId: 'after-last', graph: stubGraph({ seed: 8 }) });
    const end = (await last).at(-1) as Extract<RunEvent, { type: 'run.finished' }>;
    expect(end).toMatchObject({ type: 'run.finished', status: 'failed' });
    expect(end.error).toMatch(/could not write the run's event log .*ENOSPC/);
    expect(finishedStatus(await after)).toBe('succeeded');
  });
});

describe('runner id', () => {
  it('is kept in DATA_DIR across restarts, reported in capabilities, and RUNNER_ID overrides it', async () => {
    const tmp = tempDir();
    cleanups.push(() => tmp.remove());
    const ids: string[] = [];
    for (const runnerId of [undefined, undefined, 'gpu-box-1']) {
      const server = await startStubServer(tmp.dir, { runnerId });
      const c = client(server.url);
      const caps = await c.trpc.capabilities.query();
      expect(caps.runnerId).toBe(server.runnerId);
      ids.push(caps.runnerId);
      c.close();
      await server.close();
    }
    expect(ids[0]).toMatch(/^runner-[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).toBe('gpu-box-1');
  });
});
