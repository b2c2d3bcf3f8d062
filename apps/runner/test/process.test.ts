import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunEvent } from '@defectflow/nodes';
import { TRPCClientError } from '@trpc/client';
import { afterAll, describe, expect, it } from 'vitest';
import { client, collectRun, finishedStatus, spawnRunner, stubGraph, TOKEN, tempDir, waitFor } from './helpers.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const runnerDir = path.resolve(here, '..');

const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('runner as a child process', () => {
  const tmp = tempDir();
  afterAll(() => tmp.remove());
  const env = { RUNNER_TOKEN: TOKEN, RUNNER_PORT: '0', DATA_DIR: tmp.dir };
  /** A fixed port (the runner's test range), so a client can reconnect to the restarted runner. */
  const fixedPortEnv = { ...env, RUNNER_PORT: '3237' };
  const stubEntry = path.join(here, 'fixtures', 'stub-runner.ts');

  it('on SIGTERM marks the running run cancelled in its log and exits 0; after a restart serves its events', async () => {
    const first = spawnRunner(stubEntry, fixedPortEnv);
    children.push(first.child);
    const c1 = client(await first.url);
    // Like the web server: one client that lives across the runner restart and must miss nothing.
    const survivor = client(await first.url);
    const survived = new Map<string, RunEvent[]>();
    survivor.subscribeAll((e) => survived.set(e.runId, [...(survived.get(e.runId) ?? []), e]));
    await waitFor(() => survivor.socket.connected, 'the surviving client to connect');
    const seen: RunEvent[] = [];
    c1.subscribe('long', 0, (e) => seen.push(e));
    expect(await c1.trpc.runs.start.mutate({ runId: 'long', graph: stubGraph({ epochs: 500 }) })).toMatchObject({
      accepted: true,
    });
    await waitFor(() => seen.some((e) => e.type === 'train.epoch'), 'training to start');
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    c1.close();

    const log = readFileSync(path.join(tmp.dir, 'runs', 'long', 'events.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as RunEvent);
    expect(log.map((e) => e.seq)).toEqual(log.map((_, i) => i + 1));
    // Nobody cancelled it: the runner stopped under it, and the ending says so.
    expect(finishedStatus(log)).toBe('interrupted');
    expect(log.at(-1)).toMatchObject({ error: expect.stringMatching(/^Interrupted: the runner stopped/) });
    expect(log.filter((e) => e.type === 'run.finished')).toHaveLength(1);

    const second = spawnRunner(stubEntry, fixedPortEnv);
    children.push(second.child);
    const c2 = client(await second.url);
    try {
      expect(await c2.trpc.runs.events.query({ runId: 'long', since: 0 })).toEqual(log);
      expect(await collectRun(c2, 'long', log.length - 2)).toEqual(log.slice(-2));
      // The id stays taken across restarts: a retried start cannot run it again.
      const again = await c2.trpc.runs.start.mutate({ runId: 'long', graph: stubGraph() }).catch((e: unknown) => e);
      expect(again).toBeInstanceOf(TRPCClientError);
      expect((again as TRPCClientError<never>).message).toContain('already exists');

      // An exception thrown outside the executor fails that run only; the process keeps serving.
      const crashed = collectRun(c2, 'crash');
      await c2.trpc.runs.start.mutate({ runId: 'crash', graph: stubGraph({ datasetPath: 'crash-async' }) });
      const crashEvents = await crashed;
      expect(crashEvents[crashEvents.length - 1]).toMatchObject({ type: 'run.finished', status: 'failed' });
      expect(JSON.stringify(crashEvents.at(-1))).toContain('stub crash outside the executor');
      const ok = collectRun(c2, 'after-crash');
      await c2.trpc.runs.start.mutate({ runId: 'after-crash', graph: stubGraph({ seed: 2 }) });
      expect(finishedStatus(await ok)).toBe('succeeded');

      for (const runId of ['long', 'crash', 'after-crash']) {
        const stored = await c2.trpc.runs.events.query({ runId, since: 0 });
        await waitFor(() => survived.get(runId)?.length === stored.length, `the surviving client to have ${runId}`);
        expect(survived.get(runId)).toEqual(stored);
      }
    } finally {
      survivor.close();
      c2.close();
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });

  it('exits with code 75 (to be restarted) when a cancelled run does not stop by RUNNER_CANCEL_DEADLINE_S', async () => {
    const stuck = spawnRunner(stubEntry, { ...env, RUNNER_CANCEL_DEADLINE_S: '1' });
    children.push(stuck.child);
    const c = client(await stuck.url);
    try {
      const events: RunEvent[] = [];
      c.subscribe('hung', 0, (e) => events.push(e));
      await c.trpc.runs.start.mutate({ runId: 'hung', graph: stubGraph({ datasetPath: 'hang' }) });
      await waitFor(() => events.some((e) => e.type === 'node.started'), 'the hanging node to start');
      expect(await c.trpc.runs.cancel.mutate({ runId: 'hung' })).toEqual({ cancelled: true });
      expect(await stuck.exited).toBe(75);
      expect(stuck.output()).toContain('run hung did not stop within 1 s');
      const log = readFileSync(path.join(tmp.dir, 'runs', 'hung', 'events.jsonl'), 'utf8').trim().split('\n');
      expect(JSON.parse(log.at(-1) as string)).toMatchObject({ type: 'run.finished', status: 'cancelled' });
    } finally {
      c.close();
    }
  });

  it('src/main.ts refuses to start without RUNNER_TOKEN, naming the variable', async () => {
    const bad = spawnRunner(path.join(runnerDir, 'src', 'main.ts'), { RUNNER_PORT: '0', DATA_DIR: tmp.dir });
    children.push(bad.child);
    expect(await bad.exited).toBe(1);
    expect(bad.output()).toContain('RUNNER_TOKEN');
  });

  it('src/main.ts serves capabilities with the selected backend', async () => {
    const main = spawnRunner(path.join(runnerDir, 'src', 'main.ts'), { ...env, RUNNER_BACKEND: 'cpu' });
    children.push(main.child);
    const c = client(await main.url);
    try {
      const caps = await c.trpc.capabilities.query();
      expect(caps).toMatchObject({ backend: 'cpu', busy: false, queue: [], currentRunId: null });
      expect(main.output()).toContain(`(backend: ${caps.backend}`);
    } finally {
      c.close();
      main.child.kill('SIGTERM');
      expect(await main.exited).toBe(0);
    }
  });
});
