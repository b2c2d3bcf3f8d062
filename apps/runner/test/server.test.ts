import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunEvent } from '@defectflow/nodes';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerClient, type RunnerClient } from '../src/client.ts';
import type { RunnerCapabilities } from '../src/router.ts';
import type { RunnerServer } from '../src/server.ts';
import {
  client,
  collectRun,
  finishedStatus,
  startStubServer,
  stubGraph,
  TOKEN,
  tempDir,
  waitFor,
} from './helpers.ts';

function trpcCode(err: unknown): string | undefined {
  return err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined;
}

function expectGapFree(events: RunEvent[], runId: string) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  for (const e of events) expect(e.runId).toBe(runId);
}

function readJsonl(dataDir: string, runId: string): RunEvent[] {
  return readFileSync(path.join(dataDir, 'runs', runId, 'events.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as RunEvent);
}

describe('runner server (in-process, real HTTP and socket.io)', () => {
  const tmp = tempDir();
  let server: RunnerServer;
  let c: RunnerClient;
  let n = 0;
  /** Unique run id and train seed per run, so the shared output cache never answers the train node. */
  const next = () => ({ runId: `run-${++n}`, seed: n });

  beforeAll(async () => {
    server = await startStubServer(tmp.dir);
    c = client(server.url);
  });
  afterAll(async () => {
    c?.close();
    await server?.close();
    tmp.remove();
  });

  it('answers capabilities with the token and refuses calls and sockets without it', async () => {
    const caps = await c.trpc.capabilities.query();
    expect(caps).toMatchObject({ backend: 'stub', device: 'test', busy: false, queue: [], currentRunId: null });
    expect(caps.memory.rss).toBeGreaterThan(0);

    const wrong = client(server.url, 'wrong-token-0123456789');
    const err = await wrong.trpc.capabilities.query().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCClientError);
    expect(trpcCode(err)).toBe('UNAUTHORIZED');
    const refusal = await new Promise<string | undefined>((resolve) => wrong.onConnectionChange((_ok, e) => resolve(e)));
    expect(refusal).toBe('unauthorized');
    wrong.close();

    const res = await fetch(`${server.url}/trpc/capabilities`);
    expect(res.status).toBe(401);
  });

  it('rejects an invalid graph with per-node errors and runs nothing', async () => {
    const graph = stubGraph();
    graph.edges = graph.edges.filter((e) => e.id !== 'e2'); // train loses its dataset
    const train = graph.nodes.find((node) => node.id === 'train');
    if (train) train.params = { epochs: -3 };
    const result = await c.trpc.runs.start.mutate({ runId: 'invalid-1', graph });
    expect(result.accepted).toBe(false);
    if (result.accepted) return;
    expect(result.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ code: 'required_input_missing', nodeId: 'train', port: 'dataset' }),
        expect.objectContaining({ code: 'param_invalid', nodeId: 'train', field: 'epochs' }),
      ]),
    );
    expect(await c.trpc.runs.events.query({ runId: 'invalid-1', since: 0 })).toEqual([]);
  });

  it('streams run.started, node events and run.finished in order with gap-free seq, equal to events.jsonl', async () => {
    const { runId, seed } = next();
    const streamed = collectRun(c, runId);
    const all: RunEvent[] = [];
    const offAll = c.subscribeAll((e) => {
      if (e.runId === runId) all.push(e);
    });
    const started = await c.trpc.runs.start.mutate({ runId, graph: stubGraph({ epochs: 3, seed }) });
    expect(started).toEqual({ accepted: true, position: 0 });
    const events = await streamed;
    offAll();

    expectGapFree(events, runId);
    expect(events[0]).toMatchObject({ type: 'run.started', backend: 'stub', device: 'test' });
    expect(finishedStatus(events)).toBe('succeeded');
    const epochs = events.filter((e) => e.type === 'train.epoch').map((e) => (e.type === 'train.epoch' ? e.epoch : 0));
    expect(epochs).toEqual([1, 2, 3]);
    const trainStarted = events.findIndex((e) => e.type === 'node.started' && e.nodeId === 'train');
    const trainFinished = events.findIndex((e) => e.type === 'node.finished' && e.nodeId === 'train');
    expect(trainStarted).toBeGreaterThan(0);
    expect(trainFinished).toBeGreaterThan(trainStarted);

    expect(readJsonl(tmp.dir, runId)).toEqual(events);
    expect(await c.trpc.runs.events.query({ runId, since: 0 })).toEqual(events);
    await waitFor(() => all.length === events.length, 'the all-runs stream');
    expect(all).toEqual(events);
  });

  it('replays exactly the missing events for `since`, and resumes after a dropped connection', async () => {
    const { runId, seed } = next();
    const connection: boolean[] = [];
    const offConn = c.onConnectionChange((ok) => connection.push(ok));
    const events: RunEvent[] = [];
    let dropped = false;
    const done = new Promise<void>((resolve) => {
      const off = c.subscribe(runId, 0, (e) => {
        events.push(e);
        if (e.type === 'train.epoch' && !dropped) {
          dropped = true;
          c.socket.io.engine.close(); // a network drop: the client reconnects on its own
        }
        if (e.type === 'run.finished') {
          off();
          resolve();
        }
      });
    });
    await c.trpc.runs.start.mutate({ runId, graph: stubGraph({ epochs: 8, seed }) });
    await done;
    offConn();
    expect(connection).toEqual([false, true]);
    expectGapFree(events, runId);
    expect(events).toEqual(readJsonl(tmp.dir, runId));

    // A fresh client asking from seq 4 gets seq 5.. exactly, also through tRPC.
    const late = client(server.url);
    const replayed = await collectRun(late, runId, 4);
    late.close();
    expect(replayed).toEqual(events.slice(4));
    expect(await c.trpc.runs.events.query({ runId, since: 4 })).toEqual(events.slice(4));
  });

  it('subscribeAll resumes after a drop: runs that ran while disconnected arrive complete, once each', async () => {
    const watcher = createRunnerClient({
      url: server.url,
      token: TOKEN,
      socket: { reconnectionDelay: 800, reconnectionDelayMax: 800, randomizationFactor: 0 },
    });
    const byRun = new Map<string, RunEvent[]>();
    watcher.subscribeAll((e) => byRun.set(e.runId, [...(byRun.get(e.runId) ?? []), e]));
    await waitFor(() => watcher.socket.connected, 'the watcher to connect');
    const before = next();
    await c.trpc.runs.start.mutate({ runId: before.runId, graph: stubGraph({ epochs: 2, seed: before.seed }) });
    await waitFor(() => byRun.get(before.runId)?.some((e) => e.type === 'run.finished'), 'the first run');

    const during = next();
    const reconnected = new Promise<void>((resolve) => watcher.onConnectionChange((ok) => ok && resolve()));
    watcher.socket.io.engine.close();
    await c.trpc.runs.start.mutate({ runId: during.runId, graph: stubGraph({ epochs: 2, seed: during.seed }) });
    await server.idle();
    await reconnected;
    await waitFor(() => byRun.get(during.runId)?.some((e) => e.type === 'run.finished'), 'the replayed run');
    const stored = await c.trpc.runs.events.query({ runId: during.runId, since: 0 });
    expect(byRun.get(during.runId)).toEqual(stored);
    expect(byRun.get(before.runId)).toEqual(await c.trpc.runs.events.query({ runId: before.runId, since: 0 }));
    watcher.close();

    // A web server restarting with what it already stored (runId → last seq) gets the rest.
    const restarted = client(server.url);
    const replay: RunEvent[] = [];
    restarted.subscribeAll((e) => replay.push(e), { since: { [during.runId]: 3 } });
    await waitFor(() => replay.some((e) => e.type === 'run.finished'), 'the replay after a web restart');
    expect(replay).toEqual(stored.slice(3));
    restarted.close();
  });

  it('cancels a running run within a few seconds', async () => {
    const { runId, seed } = next();
    const events: RunEvent[] = [];
    const finished = new Promise<void>((resolve) => {
      c.subscribe(runId, 0, (e) => {
        events.push(e);
        if (e.type === 'run.finished') resolve();
      });
    });
    await c.trpc.runs.start.mutate({ runId, graph: stubGraph({ epochs: 500, seed }) });
    await waitFor(() => events.some((e) => e.type === 'train.epoch'), 'the first epoch');
    expect(await c.trpc.runs.cancel.mutate({ runId })).toEqual({ cancelled: true });
    await finished;
    expect(finishedStatus(events)).toBe('cancelled');
    expect(events.filter((e) => e.type === 'train.epoch').length).toBeLessThan(500);
    expectGapFree(events, runId);
    expect(await c.trpc.runs.cancel.mutate({ runId })).toEqual({ cancelled: false });
    expect((await c.trpc.capabilities.query()).busy).toBe(false);
  });

  it('runs queued runs one at a time in FIFO order and cancels a queued run with a single run.finished', async () => {
    const a = next();
    const b = next();
    const d = next();
    const statuses: RunnerCapabilities[] = [];
    const offStatus = c.onStatus((s) => statuses.push(s));
    const order: RunEvent[] = [];
    const offAll = c.subscribeAll((e) => {
      if ([a.runId, b.runId, d.runId].includes(e.runId)) order.push(e);
    });

    expect(await c.trpc.runs.start.mutate({ runId: a.runId, graph: stubGraph({ epochs: 6, seed: a.seed }) })).toEqual({
      accepted: true,
      position: 0,
    });
    expect(await c.trpc.runs.start.mutate({ runId: b.runId, graph: stubGraph({ epochs: 2, seed: b.seed }) })).toEqual({
      accepted: true,
      position: 1,
    });
    expect(await c.trpc.runs.start.mutate({ runId: d.runId, graph: stubGraph({ epochs: 2, seed: d.seed }) })).toEqual({
      accepted: true,
      position: 2,
    });
    const caps = await c.trpc.capabilities.query();
    expect(caps).toMatchObject({ busy: true, currentRunId: a.runId, queue: [b.runId, d.runId] });

    expect(await c.trpc.runs.cancel.mutate({ runId: d.runId })).toEqual({ cancelled: true });
    await waitFor(() => order.filter((e) => e.type === 'run.finished').length === 3, 'three runs to finish');
    offAll();
    offStatus();

    const dEvents = await c.trpc.runs.events.query({ runId: d.runId, since: 0 });
    expect(dEvents).toHaveLength(1);
    expect(dEvents[0]).toMatchObject({ type: 'run.finished', status: 'cancelled', seq: 1 });

    // All of a, then all of b: b started only after a finished.
    const sequence = order.filter((e) => e.runId !== d.runId).map((e) => e.runId);
    const firstB = sequence.indexOf(b.runId);
    expect(sequence.slice(0, firstB).every((id) => id === a.runId)).toBe(true);
    expect(sequence.slice(firstB).every((id) => id === b.runId)).toBe(true);
    const aEnd = order.find((e) => e.runId === a.runId && e.type === 'run.finished');
    expect(aEnd).toMatchObject({ status: 'succeeded' });
    expect(order.find((e) => e.runId === b.runId && e.type === 'run.finished')).toMatchObject({ status: 'succeeded' });

    // runner:status followed the queue.
    expect(statuses.some((s) => s.queue.includes(d.runId))).toBe(true);
    expect(statuses.some((s) => s.currentRunId === b.runId)).toBe(true);
    expect(statuses[statuses.length - 1]).toMatchObject({ busy: false, queue: [] });
  });

  it('fails only the run whose node fails; the next run succeeds', async () => {
    const bad = next();
    const good = next();
    const badEvents = collectRun(c, bad.runId);
    const goodEvents = collectRun(c, good.runId);
    await c.trpc.runs.start.mutate({ runId: bad.runId, graph: stubGraph({ datasetPath: 'broken', seed: bad.seed }) });
    await c.trpc.runs.start.mutate({ runId: good.runId, graph: stubGraph({ seed: good.seed }) });
    const badRun = await badEvents;
    expect(badRun).toContainEqual(
      expect.objectContaining({ type: 'node.failed', nodeId: 'data', code: 'dataset_not_found' }),
    );
    expect(finishedStatus(badRun)).toBe('failed');
    expect(finishedStatus(await goodEvents)).toBe('succeeded');
  });

  it('refuses a run id it has seen before, so a retried start never runs twice', async () => {
    const { runId, seed } = next();
    const events = collectRun(c, runId);
    await c.trpc.runs.start.mutate({ runId, graph: stubGraph({ seed }) });
    const again = await c.trpc.runs.start.mutate({ runId, graph: stubGraph({ seed }) }).catch((e: unknown) => e);
    expect(trpcCode(again)).toBe('CONFLICT');
    expect((again as Error).message).toContain(runId);
    const run = await events;
    expect(finishedStatus(run)).toBe('succeeded');
    await server.idle();
    const stored = await c.trpc.runs.events.query({ runId, since: 0 });
    expect(stored.filter((e) => e.type === 'run.started')).toHaveLength(1);
  });

  it('rejects run ids that are not safe directory names', async () => {
    const err = await c.trpc.runs.start.mutate({ runId: '../escape', graph: stubGraph() }).catch((e: unknown) => e);
    expect(trpcCode(err)).toBe('BAD_REQUEST');
  });
});

describe('runner server: executor crashes and restarts', () => {
  it('ends a run whose executor throws as failed and keeps serving', async () => {
    const tmp = tempDir();
    let calls = 0;
    const server = await startStubServer(tmp.dir, {
      executeFn: async (opts, runFns) => {
        calls++;
        if (calls === 1) throw new Error('executor blew up');
        const { execute } = await import('@defectflow/nodes/runtime');
        return execute(opts, runFns);
      },
    });
    const c = client(server.url);
    try {
      const first = collectRun(c, 'boom');
      await c.trpc.runs.start.mutate({ runId: 'boom', graph: stubGraph() });
      const events = await first;
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ type: 'run.finished', status: 'failed', error: 'executor blew up', seq: 1 });

      const second = collectRun(c, 'after-boom');
      await c.trpc.runs.start.mutate({ runId: 'after-boom', graph: stubGraph() });
      expect(finishedStatus(await second)).toBe('succeeded');
    } finally {
      c.close();
      await server.close();
      tmp.remove();
    }
  });

  it('serves the events of runs from before a restart and marks a run cancelled on close', async () => {
    const tmp = tempDir();
    const first = await startStubServer(tmp.dir);
    const c1 = client(first.url);
    const done = await (async () => {
      const events = collectRun(c1, 'before');
      await c1.trpc.runs.start.mutate({ runId: 'before', graph: stubGraph() });
      return events;
    })();
    const longEvents: RunEvent[] = [];
    c1.subscribe('interrupted', 0, (e) => longEvents.push(e));
    await c1.trpc.runs.start.mutate({ runId: 'interrupted', graph: stubGraph({ epochs: 500, seed: 9 }) });
    await waitFor(() => longEvents.some((e) => e.type === 'train.epoch'), 'the long run to train');
    await first.close();
    c1.close();

    const second = await startStubServer(tmp.dir);
    const c2 = client(second.url);
    try {
      expect(await c2.trpc.runs.events.query({ runId: 'before', since: 0 })).toEqual(done);
      const interrupted = await c2.trpc.runs.events.query({ runId: 'interrupted', since: 0 });
      expectGapFree(interrupted, 'interrupted');
      expect(finishedStatus(interrupted)).toBe('interrupted');
      expect(await collectRun(c2, 'before', 2)).toEqual(done.slice(2));
    } finally {
      c2.close();
      await second.close();
      tmp.remove();
    }
  });
});

