/**
 * Helpers of the fault and abuse suites (tests/test/faults*.e2e.test.ts, bad-inputs.e2e.test.ts):
 * what a user sees (runs through tRPC, events through socket.io) and what is stored (row and event counts),
 * before and after a fault, plus the one-line JSON figures docs/RELIABILITY.md is written from.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { io, type Socket } from 'socket.io-client';
import { expect } from 'vitest';
import { tinyTransferGraph } from './graphs.ts';
import { type AppHandle, type StartAppOptions, startApp } from './harness.ts';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One case's figures as one line: `RELIABILITY {"group":…,"case":…,…}`, copied into docs/RELIABILITY.md.
 * With RELIABILITY_OUT=<file> the lines are also appended to that file.
 */
export function report(group: string, name: string, figures: Record<string, unknown>): void {
  const line = `RELIABILITY ${JSON.stringify({ group, case: name, ...figures })}`;
  console.log(line);
  const out = process.env.RELIABILITY_OUT;
  if (out) appendFileSync(out, `${line}\n`);
}

/** A suite's app, started with its runner connected: the first case can start runs at once. */
export async function startAppWithRunner(options: StartAppOptions = {}): Promise<AppHandle> {
  const app = await startApp(options);
  await app.waitForRunner();
  return app;
}

/** A suite's end: its logs kept (see keepLogs) before the app stops; a temp DATA_DIR the harness made is removed. */
export async function endApp(app: AppHandle | undefined, name: string): Promise<void> {
  keepLogs(app, name);
  await app?.dispose();
}

/** With E2E_LOGS=<folder>: the server's (and runner's) output is kept there as <name>.log, for a failure's post-mortem. */
function keepLogs(app: AppHandle | undefined, name: string): void {
  const dir = process.env.E2E_LOGS;
  if (!dir || !app) return;
  mkdirSync(dir, { recursive: true });
  // The wasm backend prints its whole JS source on some errors: drop such lines.
  const text = app
    .logs()
    .split('\n')
    .filter((l) => l.length < 2000)
    .join('\n');
  writeFileSync(join(dir, `${name}.log`), text);
}

export interface RunRow {
  id: string;
  status: string;
  error: string | null;
  lastSeq: number;
  startedAt?: string | null;
  finishedAt?: string | null;
}

const UNFINISHED = ['queued', 'running'];

/** Everything saved that a fault must not lose: runs with their events, models, datasets, pipelines. */
export interface Snapshot {
  runs: Map<string, RunRow>;
  events: Map<string, RunEvent[]>;
  models: string[];
  datasets: string[];
  pipelines: string[];
}

export interface Counts {
  runs: number;
  events: number;
  models: number;
  datasets: number;
  pipelines: number;
}

export async function snapshot(app: AppHandle): Promise<Snapshot> {
  const runs = await app.trpc<RunRow[]>('runs.list', { limit: 500 });
  const events = new Map<string, RunEvent[]>();
  for (const run of runs) events.set(run.id, await app.trpc<RunEvent[]>('runs.events', { runId: run.id, since: 0 }));
  const models = (await app.trpc<{ id: string }[]>('models.list')).map((m) => m.id).sort();
  const datasets = (await app.trpc<{ name: string }[]>('datasets.list')).map((d) => d.name).sort();
  const pipelines = (await app.trpc<{ id: string }[]>('pipelines.list')).map((p) => p.id).sort();
  return { runs: new Map(runs.map((r) => [r.id, r])), events, models, datasets, pipelines };
}

export function counts(s: Snapshot): Counts {
  let events = 0;
  for (const list of s.events.values()) events += list.length;
  return { runs: s.runs.size, events, models: s.models.length, datasets: s.datasets.length, pipelines: s.pipelines.length };
}

/**
 * Nothing saved before is gone after: every run, model, dataset and pipeline is still there; a run that
 * had finished has exactly the same events; an unfinished run's stored events are a prefix of its events now.
 */
export function expectNothingLost(before: Snapshot, after: Snapshot): void {
  for (const [id, run] of before.runs) {
    expect(after.runs.has(id), `run ${id} is gone`).toBe(true);
    const was = before.events.get(id) ?? [];
    const now = after.events.get(id) ?? [];
    if (UNFINISHED.includes(run.status)) expect(now.slice(0, was.length), `events of run ${id} changed`).toEqual(was);
    else {
      expect(after.runs.get(id)?.status, `finished run ${id} changed status`).toBe(run.status);
      expect(now, `events of finished run ${id} changed`).toEqual(was);
    }
  }
  for (const key of ['models', 'datasets', 'pipelines'] as const) {
    for (const id of before[key]) expect(after[key], `${key.slice(0, -1)} ${id} is gone`).toContain(id);
  }
}

/** Starts a run through the web API like the editor's Run button; throws with the refusal. */
export async function startRun(app: AppHandle, graph: PipelineGraph): Promise<string> {
  const res = await app.trpc<{ ok: boolean; runId?: string; errors?: unknown }>('runs.start', { graph }, 'mutation');
  if (!res.ok || !res.runId) throw new Error(`runs.start refused the graph: ${JSON.stringify(res.errors)}`);
  return res.runId;
}

/** Polls runs.get until the run leaves queued/running; errors of the API while it is down are retried. */
export async function waitForRunEnd(app: AppHandle, runId: string, timeoutMs = 120_000): Promise<RunRow> {
  const deadline = Date.now() + timeoutMs;
  let last: RunRow | null = null;
  for (;;) {
    last = (await app.trpc<RunRow>('runs.get', { runId }).catch(() => null)) ?? last;
    if (last && !UNFINISHED.includes(last.status)) return last;
    if (Date.now() > deadline) {
      throw new Error(`run ${runId} still ${last?.status ?? 'unknown'} after ${timeoutMs} ms:\n${app.logs().slice(-3000)}`);
    }
    await sleep(200);
  }
}

/** Waits until a stored event of the run matches (e.g. a train.epoch: the run is busy training). */
export async function waitForEvent(
  app: AppHandle,
  runId: string,
  match: (e: RunEvent) => boolean,
  timeoutMs = 120_000,
): Promise<RunEvent> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = await app.trpc<RunEvent[]>('runs.events', { runId, since: 0 }).catch(() => []);
    const hit = events.find(match);
    if (hit) return hit;
    const finished = events.find((e) => e.type === 'run.finished');
    if (finished) throw new Error(`run ${runId} finished before the awaited event: ${JSON.stringify(finished)}`);
    if (Date.now() > deadline) throw new Error(`run ${runId}: awaited event not stored after ${timeoutMs} ms`);
    await sleep(150);
  }
}

/** Starts a run and waits for it to end; returns the row and its stored events. */
export async function runToEnd(app: AppHandle, graph: PipelineGraph, timeoutMs = 180_000) {
  const runId = await startRun(app, graph);
  const run = await waitForRunEnd(app, runId, timeoutMs);
  const events = await app.trpc<RunEvent[]>('runs.events', { runId, since: 0 });
  return { runId, run, events };
}

/** The runner's own record of a run: DATA_DIR/runs/<id>/events.jsonl (a torn last line is skipped). */
export function readEventLog(dataDir: string, runId: string): RunEvent[] {
  const file = join(dataDir, 'runs', runId, 'events.jsonl');
  if (!existsSync(file)) return [];
  const out: RunEvent[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      out.push(JSON.parse(line) as RunEvent);
    } catch {
      // a line cut by the fault itself
    }
  }
  return out;
}

/** Direct children of a process (Linux /proc). */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  const taskDir = `/proc/${pid}/task`;
  if (!existsSync(taskDir)) return out;
  for (const tid of readdirSync(taskDir)) {
    try {
      for (const c of readFileSync(join(taskDir, tid, 'children'), 'utf8').trim().split(/\s+/)) if (c) out.push(Number(c));
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The embedded runner: the web server's child running runner-child.ts. */
export function runnerPid(app: AppHandle): number {
  const web = app.pid();
  if (!web) throw new Error('the web server is not running');
  for (const pid of childPids(web)) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('runner-child')) return pid;
    } catch {
      // exited meanwhile
    }
  }
  throw new Error(`no embedded runner child under web server ${web}`);
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Resolves with the promise, or rejects naming `what` after timeoutMs. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export interface RunnerStatusView {
  connected: boolean;
  busy: boolean;
  queue: string[];
  currentRunId: string | null;
  restarts?: number;
}

/** The tiny transfer pipeline on `dataset`: 64 px input, a small dense head; train params override. */
export function quickGraph(
  dataset: string,
  train: Record<string, unknown> = {},
  deploy: Record<string, unknown> | false = false,
  freeze: Record<string, unknown> = { mode: 'all' },
): PipelineGraph {
  return tinyTransferGraph({
    dataset: { path: dataset, valRatio: 0.2, testRatio: 0.25, seed: 1 },
    head: { hidden: 8, dropout: 0 },
    freeze,
    train: { epochs: 1, batchSize: 8, learningRate: 0.003, earlyStopping: false, schedule: 'constant', seed: 1, ...train },
    deploy,
  });
}

/**
 * A run that keeps training until it is stopped (faults hit it mid-run): fine-tuning the first blocks makes
 * every epoch slow (no cached features), and 500 epochs (the most allowed) outlast any test.
 */
export function endlessGraph(dataset: string, seed = 1): PipelineGraph {
  return quickGraph(dataset, { epochs: 500, batchSize: 2, seed }, false, { mode: 'upTo', upToBlock: 'block_3_expand_relu' });
}

/**
 * A browser's view of one run over socket.io: `run:join {runId, since: 0}`, then every `run:event` in arrival
 * order (history and live may overlap; the page dedupes by seq, so do the checks).
 */
export interface RunWatcher {
  runId: string;
  /** Every event received, in arrival order. */
  received: RunEvent[];
  /** Resolves when run.finished arrived. */
  finished: Promise<void>;
  close(): void;
}

export async function watchRun(url: string, runId: string, headers: Record<string, string> = {}): Promise<RunWatcher> {
  const socket: Socket = io(url, { transports: ['websocket'], reconnection: false, extraHeaders: headers, forceNew: true });
  const received: RunEvent[] = [];
  let done!: () => void;
  const finished = new Promise<void>((r) => (done = r));
  socket.on('run:event', (event: RunEvent) => {
    if (event.runId !== runId) return;
    received.push(event);
    if (event.type === 'run.finished') done();
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', (err) => reject(new Error(`socket.io connect failed: ${err.message}`)));
  });
  const ack = (await socket.timeout(15_000).emitWithAck('run:join', { runId, since: 0 })) as { ok: boolean; error?: string } | undefined;
  if (ack && ack.ok === false) throw new Error(`run:join ${runId} refused: ${ack.error}`);
  return { runId, received, finished, close: () => socket.close() };
}

/** Unique seqs in arrival order, and whether they arrived in order without gaps from 1. */
export function seqCheck(events: RunEvent[]): { unique: number[]; duplicates: number; inOrder: boolean; gapFree: boolean } {
  const seen = new Set<number>();
  const unique: number[] = [];
  let duplicates = 0;
  for (const e of events) {
    if (seen.has(e.seq)) duplicates++;
    else {
      seen.add(e.seq);
      unique.push(e.seq);
    }
  }
  const inOrder = unique.every((s, i) => i === 0 || s > (unique[i - 1] as number));
  const sorted = [...unique].sort((a, b) => a - b);
  const gapFree = sorted.every((s, i) => s === i + 1);
  return { unique, duplicates, inOrder, gapFree };
}

/** ms → seconds with one decimal, for the figures. */
export const secs = (ms: number) => Math.round(ms / 100) / 10;
