/**
 * The web server's side of the runner: persists every run event (the DB is the record), keeps the runs
 * row in step with the events, relays events to browsers, and notices when the runner is gone.
 *
 * Ordering: live events are relayed at once (browsers dedupe by seq) and persisted through one serial
 * queue, so DB side effects (status, metrics, models) apply in event order. On every (re)connect the
 * bridge asks the runner for what it missed (`runs.events({runId, since: lastSeq})`) — the resumable
 * stream of STYLE.md point 8.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Repositories } from '@defectflow/db';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { z } from 'zod';
import { errorMessage, type Logger, silentLogger } from './log.ts';
import { modelDirInside, PathOutsideRootError } from './paths.ts';
import type { RunnerCapabilities, RunnerLink, RunnerStartResult, RunnerStatus } from './runner-link.ts';

export interface RunRelay {
  /** A run event for browsers in room `run:<runId>`. */
  runEvent(event: RunEvent): void;
  /** A run's row changed outside the event stream (e.g. marked interrupted). */
  runStatus(update: { runId: string; status: string; error: string | null }): void;
  runnerStatus(status: RunnerStatus): void;
}

export interface RunnerBridgeOptions {
  repo: Repositories;
  link: RunnerLink;
  relay: RunRelay;
  /** Where deploy nodes export models; a relative `dir` in a deploy summary resolves here, one outside it is refused. */
  modelsDir: string;
  /**
   * The runner's run folders (DATA_DIR/runs) when shared with this server (embedded runner): the evaluate
   * node writes its full metrics (confusion cells, per-image predictions, ROC) to
   * `<runsDir>/<runId>/metrics-<nodeId>.json`, too big for its node.finished summary; runs.metrics gets them.
   */
  runsDir?: string;
  log?: Logger;
  /** How long the runner may stay unreachable before unfinished runs are marked interrupted. */
  lostAfterMs?: number;
  /** Embedded runner restarts, shown in the status. */
  restarts?: () => number;
}

const UNFINISHED = new Set(['queued', 'running']);

/**
 * What a deploy node reports. Tolerant on purpose: the folder is essential; id, labels and input size
 * come from the summary or else from the export's own defectflow.json.
 */
const DeploySummary = z.object({
  modelId: z.string().min(1).optional(),
  id: z.string().min(1).optional(),
  dir: z.string().min(1).optional(),
  modelDir: z.string().min(1).optional(),
  name: z.string().optional(),
  labels: z.array(z.string()).optional(),
  classNames: z.array(z.string()).optional(),
  inputSize: z.number().int().positive().optional(),
  metrics: z.record(z.string(), z.unknown()).nullish(),
  deployed: z.boolean().optional(),
});

/** The engine's export metadata (packages/engine/src/model/export.ts ExportMeta), the fields we use. */
const ExportMeta = z.object({
  name: z.string().optional(),
  labels: z.array(z.string()).optional(),
  inputSize: z.number().int().positive().optional(),
  metrics: z.record(z.string(), z.unknown()).nullish(),
});

async function readExportMeta(dir: string): Promise<z.infer<typeof ExportMeta>> {
  try {
    return ExportMeta.parse(JSON.parse(await readFile(join(dir, 'defectflow.json'), 'utf8')));
  } catch {
    return {};
  }
}

/** Events whose persistence changes the runs/models tables. */
function hasSideEffect(event: RunEvent): boolean {
  return (
    event.type === 'run.started' ||
    event.type === 'run.finished' ||
    event.type === 'node.failed' ||
    (event.type === 'node.finished' && (event.nodeType === 'evaluate' || event.nodeType === 'deploy'))
  );
}

export class RunnerBridge {
  private readonly repo: Repositories;
  private readonly link: RunnerLink;
  private readonly relay: RunRelay;
  private readonly log: Logger;
  private readonly lostAfterMs: number;
  private capabilities: RunnerCapabilities | null = null;
  private lastStatusJson = '';
  /** Seqs relayed to browsers per unfinished run (events may come twice, and out of order, live and through resync). */
  private readonly relayed = new Map<string, Set<number>>();
  /** Runs inserted but not yet handed to the runner: a resync must not call them lost. */
  private readonly starting = new Set<string>();
  /** Runs handed over since the last capabilities snapshot was requested (it may not list them yet). */
  private readonly startedSinceSnapshot = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private lostTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: Array<() => void> = [];
  private stopped = false;

  constructor(private readonly options: RunnerBridgeOptions) {
    this.repo = options.repo;
    this.link = options.link;
    this.relay = options.relay;
    this.log = options.log ?? silentLogger;
    this.lostAfterMs = options.lostAfterMs ?? 10_000;
  }

  start(): void {
    this.unsubscribe.push(
      this.link.onEvent((event) => this.handleLiveEvent(event)),
      this.link.onStatus((caps) => {
        this.capabilities = caps;
        this.publishStatus();
      }),
      this.link.onConnectionChange((connected) => this.handleConnection(connected)),
    );
    if (this.link.isConnected()) this.handleConnection(true);
    else this.armLostTimer();
  }

  stop(): void {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.lostTimer) clearTimeout(this.lostTimer);
    this.lostTimer = null;
  }

  status(): RunnerStatus {
    const caps = this.capabilities;
    return {
      connected: this.link.isConnected(),
      url: this.link.url,
      backend: caps?.backend ?? null,
      device: caps?.device ?? null,
      busy: caps?.busy ?? false,
      queue: caps?.queue ?? [],
      currentRunId: caps?.currentRunId ?? null,
      ...(this.options.restarts ? { restarts: this.options.restarts() } : {}),
    };
  }

  /** Resolves when every event received so far is persisted (tests, shutdown). */
  async idle(): Promise<void> {
    let current: Promise<void>;
    do {
      current = this.queue;
      await current;
    } while (current !== this.queue);
  }

  /**
   * Records a run (`record` inserts its row) and hands it to the runner; the caller records refusals and
   * failures on the row. From before the insert until the runner has it, a reconnect resync must not
   * judge the run by a capabilities snapshot that predates it.
   */
  async startRun(runId: string, graph: PipelineGraph, record: () => Promise<void>): Promise<RunnerStartResult> {
    this.starting.add(runId);
    try {
      await record();
      return await this.link.start(runId, graph);
    } finally {
      this.starting.delete(runId);
      this.startedSinceSnapshot.add(runId);
    }
  }

  async cancelRun(runId: string): Promise<{ cancelled: boolean }> {
    return this.link.cancel(runId);
  }

  // ---------------------------------------------------------------- events

  private handleLiveEvent(event: RunEvent): void {
    this.relayIfNew(event);
    this.enqueue(() => this.persist([event]));
  }

  private relayIfNew(event: RunEvent): void {
    let seen = this.relayed.get(event.runId);
    if (!seen) this.relayed.set(event.runId, (seen = new Set()));
    if (seen.has(event.seq)) return;
    seen.add(event.seq);
    this.relay.runEvent(event);
    // A finished run's later duplicates (a resync) may be relayed again: clients dedupe by seq anyway.
    if (event.type === 'run.finished') this.relayed.delete(event.runId);
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const next = this.queue.then(task).catch((err: unknown) => {
      this.log.error(`persisting run events failed: ${errorMessage(err)}`);
    });
    this.queue = next;
    return next;
  }

  /** Appends events (all of one run, in seq order), applying row side effects of the newly stored ones. */
  private async persist(events: RunEvent[]): Promise<void> {
    let plain: RunEvent[] = [];
    const flush = async () => {
      if (plain.length) await this.repo.runEvents.append(plain);
      plain = [];
    };
    for (const event of events) {
      if (!hasSideEffect(event)) {
        plain.push(event);
        continue;
      }
      await flush();
      // One at a time so a duplicate (inserted 0) never re-applies its side effect.
      const { inserted } = await this.appendOrSkip(event);
      if (inserted) await this.applySideEffect(event);
    }
    await flush().catch((err: unknown) => this.logUnknownRun(err, events[0]?.runId));
  }

  private async appendOrSkip(event: RunEvent): Promise<{ inserted: number }> {
    try {
      return await this.repo.runEvents.append([event]);
    } catch (err) {
      this.logUnknownRun(err, event.runId);
      return { inserted: 0 };
    }
  }

  private readonly warnedUnknown = new Set<string>();
  private logUnknownRun(err: unknown, runId: string | undefined): void {
    if ((err as Error)?.name === 'NotFoundError') {
      // A run this web server did not start (another web instance or the CLI on the same runner).
      if (runId && !this.warnedUnknown.has(runId)) {
        this.warnedUnknown.add(runId);
        this.log.warn(`ignoring events of run ${runId}: it has no row in this database`);
      }
      return;
    }
    throw err;
  }

  private async applySideEffect(event: RunEvent): Promise<void> {
    switch (event.type) {
      case 'run.started':
        await this.repo.runs.update(event.runId, {
          status: 'running',
          backend: event.backend,
          device: event.device,
          startedAt: new Date(event.ts),
        });
        return;
      case 'node.failed': {
        const run = await this.repo.runs.get(event.runId);
        if (run && !run.error) {
          await this.repo.runs.update(event.runId, { error: `${event.nodeType} node "${event.nodeId}": ${event.message}` });
        }
        return;
      }
      case 'node.finished':
        if (event.nodeType === 'evaluate') await this.repo.runs.update(event.runId, { metrics: await this.fullMetrics(event) });
        if (event.nodeType === 'deploy') await this.registerModel(event.runId, event.summary);
        return;
      case 'run.finished': {
        const run = await this.repo.runs.get(event.runId);
        const error = event.status === 'succeeded' ? null : (event.error ?? run?.error ?? null);
        await this.repo.runs.update(event.runId, {
          status: event.status,
          finishedAt: new Date(event.ts),
          error,
          summary: { ...(run?.summary ?? {}), durationMs: event.durationMs },
        });
        // Browsers relayed run.finished before this queue stored it (and the full metrics before it):
        // tell them the row is final now, so a refetch gets the report with per-image predictions.
        this.relay.runStatus({ runId: event.runId, status: event.status, error });
        return;
      }
      default:
        return;
    }
  }

  /** The evaluate node's full metrics file when readable, else its summary (a remote runner's folders are not here). */
  private async fullMetrics(event: Extract<RunEvent, { type: 'node.finished' }>): Promise<Record<string, unknown>> {
    const name = `metrics-${event.nodeId}.json`;
    if (!this.options.runsDir || basename(name) !== name || basename(event.runId) !== event.runId) return event.summary;
    try {
      const full = JSON.parse(await readFile(join(this.options.runsDir, event.runId, name), 'utf8')) as unknown;
      if (full && typeof full === 'object' && !Array.isArray(full)) return { ...event.summary, ...(full as Record<string, unknown>) };
    } catch (err) {
      this.log.warn(`run ${event.runId}: full metrics of ${event.nodeId} unreadable, keeping the summary (${errorMessage(err)})`);
    }
    return event.summary;
  }

  private async registerModel(runId: string, summary: Record<string, unknown>): Promise<void> {
    const parsed = DeploySummary.safeParse(summary);
    const s = parsed.success ? parsed.data : {};
    const folder = s.dir ?? s.modelDir;
    if (!folder) {
      this.log.warn(`run ${runId}: the deploy summary names no model folder (dir), model not registered`);
      return;
    }
    if (s.deployed === false) return; // quality gate not met
    const modelId = s.modelId ?? s.id ?? basename(folder);
    let dir: string;
    try {
      // A node id or summary could name any folder; only one inside the models dir is registered (and served).
      dir = modelDirInside(this.options.modelsDir, { id: modelId, dir: folder });
    } catch (err) {
      if (!(err instanceof PathOutsideRootError)) throw err;
      this.log.warn(`run ${runId}: deploy folder refused, model not registered: ${err.message}`);
      return;
    }
    if (await this.repo.models.get(modelId)) return;
    const meta = await readExportMeta(dir);
    const run = await this.repo.runs.get(runId);
    await this.repo.models.create({
      id: modelId,
      runId,
      productLineId: run?.productLineId ?? null,
      name: s.name ?? meta.name ?? modelId,
      dir,
      labels: s.labels ?? s.classNames ?? meta.labels ?? [],
      inputSize: s.inputSize ?? meta.inputSize ?? 224,
      metrics: s.metrics ?? meta.metrics ?? run?.metrics ?? null,
    });
    this.log.info(`registered model ${modelId} from run ${runId}`);
  }

  // ------------------------------------------------------------ connection

  private handleConnection(connected: boolean): void {
    if (this.stopped) return;
    if (!connected) {
      this.log.warn(`lost the connection to the runner at ${this.link.url}`);
      this.publishStatus();
      this.armLostTimer();
      return;
    }
    if (this.lostTimer) clearTimeout(this.lostTimer);
    this.lostTimer = null;
    this.log.info(`connected to the runner at ${this.link.url}`);
    this.publishStatus();
    void this.enqueue(() => this.resync());
  }

  private armLostTimer(): void {
    if (this.lostTimer || this.stopped) return;
    this.lostTimer = setTimeout(() => {
      this.lostTimer = null;
      if (this.link.isConnected() || this.stopped) return;
      void this.enqueue(() =>
        this.interruptUnfinished(
          `Interrupted: lost the connection to the runner at ${this.link.url} for more than ${Math.round(this.lostAfterMs / 1000)} s`,
        ),
      );
    }, this.lostAfterMs);
    this.lostTimer.unref?.();
  }

  /** After a (re)connect: fetch what was missed, then call runs the runner no longer knows interrupted. */
  private async resync(): Promise<void> {
    this.startedSinceSnapshot.clear();
    try {
      this.capabilities = await this.link.capabilities();
      this.publishStatus();
    } catch (err) {
      this.log.warn(`runner capabilities failed: ${errorMessage(err)}`);
    }
    const unfinished = await this.repo.runs.listUnfinished();
    const lost: string[] = [];
    for (const run of unfinished) {
      if (this.starting.has(run.id)) continue;
      let missed: RunEvent[] = [];
      try {
        missed = await this.link.events(run.id, run.lastSeq);
      } catch (err) {
        this.log.warn(`run ${run.id}: could not fetch missed events (${errorMessage(err)})`);
      }
      for (const event of missed) this.relayIfNew(event);
      await this.persist(missed);
      if (missed.length) this.log.info(`run ${run.id}: recovered ${missed.length} missed event(s)`);
      const after = await this.repo.runs.get(run.id);
      if (!after || !UNFINISHED.has(after.status)) continue;
      const caps = this.capabilities;
      const known = caps
        ? caps.currentRunId === run.id || caps.queue.includes(run.id) || (caps.running ?? []).includes(run.id)
        : true;
      if (!known && !this.starting.has(run.id) && !this.startedSinceSnapshot.has(run.id)) lost.push(run.id);
    }
    if (lost.length) await this.markInterrupted(lost, 'Interrupted: the runner restarted and no longer knows this run');
  }

  private async interruptUnfinished(error: string): Promise<void> {
    const ids = (await this.repo.runs.listUnfinished()).map((r) => r.id).filter((id) => !this.starting.has(id));
    await this.markInterrupted(ids, error);
  }

  private async markInterrupted(ids: string[], error: string): Promise<void> {
    const changed = await this.repo.runs.markInterrupted(ids, error);
    for (const run of changed) {
      this.log.warn(`run ${run.id} marked interrupted: ${error}`);
      this.relay.runStatus({ runId: run.id, status: 'interrupted', error });
    }
  }

  private publishStatus(): void {
    const status = this.status();
    const json = JSON.stringify(status);
    if (json === this.lastStatusJson) return;
    this.lastStatusJson = json;
    this.relay.runnerStatus(status);
  }
}
