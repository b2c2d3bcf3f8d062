/** Test doubles: an in-memory database, a scripted runner link, a recording relay, and a tRPC caller over them. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDb, type DbHandle } from '@defectflow/db';
import type { PipelineGraph, RunEvent, RunEventBody } from '@defectflow/nodes';
import { LOCAL_PRINCIPAL } from '../server/auth/principal.ts';
import { AuthService } from '../server/auth/service.ts';
import { silentLogger } from '../server/log.ts';
import { inProcessBackbones } from './runner-predictor.ts';
import { PredictionLog, type PredictionLogOptions } from '../server/predictions/log.ts';
import { appRouter } from '../server/router.ts';
import type { RunRelay } from '../server/runner-bridge.ts';
import type { RunnerCapabilities, RunnerLink, RunnerStartResult, RunnerStatus } from '../server/runner-link.ts';
import { SweepController } from '../server/sweeps/controller.ts';
import { createCallerFactory, type PredictFn, type RunnerControl, type WebContext } from '../server/trpc.ts';

export async function memoryDb(): Promise<DbHandle> {
  return createDb({ inMemory: true });
}

export function tempDir(prefix = 'df-web-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A runner control that records calls; `next` decides how the next start answers. */
export class FakeRunnerControl implements RunnerControl {
  started: Array<{ runId: string; graph: PipelineGraph }> = [];
  next: 'accept' | 'refuse' | 'unreachable' = 'accept';
  status() {
    return { connected: true, url: 'http://fake', backend: 'cpu', device: 'test', busy: false, queue: [], currentRunId: null };
  }
  async startRun(runId: string, graph: PipelineGraph, record: () => Promise<void>): Promise<RunnerStartResult> {
    await record();
    this.started.push({ runId, graph });
    if (this.next === 'unreachable') throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    if (this.next === 'refuse') {
      return { accepted: false, errors: [{ code: 'invalid_graph', message: 'runner says no' }] };
    }
    return { accepted: true, position: 0 };
  }
  async cancelRun() {
    return { cancelled: true };
  }
}

/** Auth as with AUTH off (loopback, the zero-config default): every caller is the implicit local admin. */
export function authOff(db: DbHandle): Pick<WebContext, 'auth' | 'principal'> {
  const auth = new AuthService(
    db.repo,
    { enabled: false, sessionTtlMs: 3_600_000, sessionMaxMs: 86_400_000, signInMaxFailures: 10, signInWindowMs: 60_000 },
    silentLogger,
  );
  return { auth, principal: LOCAL_PRINCIPAL };
}

/** A prediction log in a temp dir that keeps no images unless asked (sample rate 0, nothing low-confidence). */
export function testPredictionLog(db: DbHandle, options: Partial<PredictionLogOptions> = {}): PredictionLog {
  return new PredictionLog({
    repo: db.repo,
    dir: join(tempDir('df-predictions-'), 'predictions'),
    sampleRate: 0,
    lowConfidence: 0,
    imagesMaxBytes: 1024 ** 3,
    retentionDays: 90,
    log: silentLogger,
    ...options,
  });
}

export function makeCaller(db: DbHandle, runner: RunnerControl, overrides: Partial<WebContext> = {}) {
  const predict: PredictFn = async (_dir, images) =>
    images.map((i) => ({ name: i.name, label: 'ok', confidence: 1, scores: { ok: 1 } }));
  const ctx: WebContext = {
    repo: db.repo,
    runner,
    sweeps: new SweepController({ repo: db.repo, runner, maxRunning: 4 }),
    paths: { dataDir: tempDir(), datasetsRoot: tempDir(), modelsDir: tempDir() },
    predict,
    predictionLog: testPredictionLog(db),
    ...authOff(db),
    ...overrides,
  };
  // Backbone inspection: the runner's own functions, in-process (ONNX Runtime in the test process only).
  ctx.backbones ??= inProcessBackbones(ctx.paths.dataDir);
  return createCallerFactory(appRouter)(ctx);
}

/** A runner link driven by the test: emit events, flip the connection, serve runs.events from a log. */
export class FakeLink implements RunnerLink {
  url = 'http://fake-runner';
  connected = false;
  caps: RunnerCapabilities = {
    version: 'test',
    backend: 'cpu',
    device: 'test',
    memory: { rss: 0, heapUsed: 0 },
    busy: false,
    queue: [],
    currentRunId: null,
    running: [],
    concurrency: 1,
    runnerId: 'fake-runner',
  };
  /** What the runner's events.jsonl holds, per run. */
  log = new Map<string, RunEvent[]>();
  private eventListeners = new Set<(e: RunEvent) => void>();
  private statusListeners = new Set<(s: RunnerCapabilities) => void>();
  private connListeners = new Set<(c: boolean) => void>();

  async capabilities() {
    return this.caps;
  }
  async start(): Promise<RunnerStartResult> {
    return { accepted: true, position: 0 };
  }
  async cancel() {
    return { cancelled: true };
  }
  async events(runId: string, since: number) {
    return (this.log.get(runId) ?? []).filter((e) => e.seq > since);
  }
  onEvent(l: (e: RunEvent) => void) {
    this.eventListeners.add(l);
    return () => this.eventListeners.delete(l);
  }
  onStatus(l: (s: RunnerCapabilities) => void) {
    this.statusListeners.add(l);
    return () => this.statusListeners.delete(l);
  }
  onConnectionChange(l: (c: boolean) => void) {
    this.connListeners.add(l);
    return () => this.connListeners.delete(l);
  }
  isConnected() {
    return this.connected;
  }
  close() {}

  setConnected(c: boolean) {
    this.connected = c;
    for (const l of this.connListeners) l(c);
  }
  /** Appends to the run's log and, when `live`, streams it. */
  record(runId: string, body: RunEventBody, live = true): RunEvent {
    const events = this.log.get(runId) ?? [];
    const event = { ...body, runId, seq: events.length + 1, ts: Date.now() } as RunEvent;
    events.push(event);
    this.log.set(runId, events);
    if (live) for (const l of this.eventListeners) l(event);
    return event;
  }
  /** Re-sends an event already sent (a duplicate delivery). */
  resend(event: RunEvent) {
    for (const l of this.eventListeners) l(event);
  }
}

/** The bridge's relay to browsers, recording what it was given. */
export class RecordingRelay implements RunRelay {
  events: RunEvent[] = [];
  statuses: Array<{ runId: string; status: string; error: string | null }> = [];
  runner: RunnerStatus[] = [];
  runEvent(e: RunEvent) {
    this.events.push(e);
  }
  runStatus(u: { runId: string; status: string; error: string | null }) {
    this.statuses.push(u);
  }
  runnerStatus(s: RunnerStatus) {
    this.runner.push(s);
  }
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
