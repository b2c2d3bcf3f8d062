/**
 * The web server's side of the runner: persists every run event (the DB is the record), keeps the runs
 * row in step with the events, relays events to browsers, and notices when the runner is gone.
 *
 * Ordering: live events are relayed at once (browsers dedupe by seq) and persisted through one serial
 * queue, so DB side effects (status, metrics, models) apply in event order. Each batch of events and
 * the row changes they cause are one transaction: a failure stores neither, and the batch is fetched
 * again from the runner (runs.last_seq is gap-free, so a missing event is never skipped). On every
 * (re)connect the bridge asks the runner for what it missed (`runs.events({runId, since: lastSeq})`) —
 * the resumable stream of STYLE.md point 8.
 *
 * Ownership: every run row names the runner that holds it (runs.runner_id). Several web servers may
 * share one PostgreSQL, each with its own runner: a bridge marks interrupted only its own runner's
 * runs (and legacy rows naming none).
 */
import { basename, join } from 'node:path';
import { createRepositories, type Db, type Repositories } from '@defectflow/db';
import { type PipelineGraph, type RunEvent, deploySummary } from '@defectflow/nodes';
import { z } from 'zod';
import { errorMessage, type Logger, silentLogger } from './log.ts';
import { modelDirInside, PathOutsideRootError } from './paths.ts';
import type { RunnerCapabilities, RunnerLink, RunnerStartResult, RunnerStatus, RunOptions } from './runner-link.ts';
import { type ArtifactStore, localDirsStore, modelKeyPrefix, readStoredJson, runFileKey } from './storage.ts';

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
  /**
   * Where run files and model folders are read (app.ts: the STORAGE_URL store, by default DATA_DIR itself).
   * Absent: the local folders above (modelsDir, runsDir).
   */
  store?: ArtifactStore;
  log?: Logger;
  /** How long the runner may stay unreachable before unfinished runs are marked interrupted. */
  lostAfterMs?: number;
  /** Embedded runner restarts, shown in the status. */
  restarts?: () => number;
  /**
   * The runner's id when known before it connects (the embedded runner's DATA_DIR/runner-id); otherwise
   * learned from its capabilities. Until known, only legacy rows (no runner) can be marked interrupted.
   */
  runnerId?: string;
  /** First delay before a batch that failed to persist is fetched again (doubling up to 30 s). */
  retryAfterMs?: number;
  /**
   * Cluster mode (REDIS_URL): many runners behind a queue. Runs are not judged lost by this bridge (a dead runner's
   * job is noticed by the queue and ended by another runner), every unfinished run is resynced periodically, and an
   * event that arrives ahead of the stored ones brings the missing ones with it (they may have gone to another
   * web server that has not stored them yet), so the runs row always changes in event order.
   */
  cluster?: { runners(): RunnerStatus['runners']; resyncEveryMs?: number };
}

/** Row changes an event causes, applied inside the transaction that stores it; returns what to tell browsers after commit. */
type RowWriter = (repo: Repositories) => Promise<(() => void) | undefined>;

const UNFINISHED = new Set(['queued', 'running']);

/**
 * What a deploy node reports. Tolerant on purpose: the folder is essential; id, labels and input size
 * come from the summary or else from the export's own defectflow.json.
 */
/** The deploy node's summary (@defectflow/nodes deploySummary); a sparse one is filled from defectflow.json. */
const DeploySummary = deploySummary.partial();

/** The engine's export metadata (packages/engine/src/model/export.ts ExportMeta), the fields we use. */
const ExportMeta = z.object({
  name: z.string().optional(),
  labels: z.array(z.string()).optional(),
  inputSize: z.number().int().positive().optional(),
  metrics: z.record(z.string(), z.unknown()).nullish(),
});

async function readExportMeta(store: ArtifactStore, modelPrefix: string): Promise<z.infer<typeof ExportMeta>> {
  try {
    return ExportMeta.parse(await readStoredJson(store, `${modelPrefix}defectflow.json`));
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
    ((event.type === 'node.finished' || event.type === 'node.cached') && (event.nodeType === 'evaluate' || event.nodeType === 'deploy'))
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
  private knownRunnerId: string | null;
  /** Runs whose events failed to persist, with their refetch timer and current backoff. */
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; delayMs: number }>();
  private readonly unsubscribe: Array<() => void> = [];
  /** Told when a run's final status is stored (the sweep controller waits for its trials this way). */
  private readonly endListeners = new Set<(runId: string, status: string) => void>();
  private stopped = false;
  private resyncTimer: NodeJS.Timeout | null = null;

  /** Model folders (defectflow.json at registration). */
  private readonly models: ArtifactStore;
  /** Run files (evaluate metrics); null = not readable here (no store and no runsDir). */
  private readonly runFiles: ArtifactStore | null;

  constructor(private readonly options: RunnerBridgeOptions) {
    this.models = options.store ?? localDirsStore({ modelsDir: options.modelsDir, runsDir: options.runsDir });
    this.runFiles = options.store ?? (options.runsDir ? this.models : null);
    this.repo = options.repo;
    this.link = options.link;
    this.relay = options.relay;
    this.log = options.log ?? silentLogger;
    this.lostAfterMs = options.lostAfterMs ?? 10_000;
    this.knownRunnerId = options.runnerId ?? null;
  }

  /** The id of this bridge's runner (null until it connected once, unless given). */
  get runnerId(): string | null {
    return this.knownRunnerId;
  }

  private learnCapabilities(caps: RunnerCapabilities): void {
    this.capabilities = caps;
    // A runner from before runner ids reports none: keep what we know.
    if (caps.runnerId) this.knownRunnerId = caps.runnerId;
  }

  start(): void {
    this.unsubscribe.push(
      this.link.onEvent((event) => this.handleLiveEvent(event)),
      this.link.onStatus((caps) => {
        this.learnCapabilities(caps);
        this.publishStatus();
      }),
      this.link.onConnectionChange((connected) => this.handleConnection(connected)),
    );
    if (this.link.isConnected()) this.handleConnection(true);
    else this.armLostTimer();
    if (this.options.cluster) {
      this.resyncTimer = setInterval(() => {
        if (this.link.isConnected()) void this.enqueue(() => this.resync());
      }, this.options.cluster.resyncEveryMs ?? 15_000);
      this.resyncTimer.unref?.();
    }
  }

  stop(): void {
    this.stopped = true;
    for (const off of this.unsubscribe.splice(0)) off();
    if (this.lostTimer) clearTimeout(this.lostTimer);
    this.lostTimer = null;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.resyncTimer = null;
    for (const { timer } of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
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
      mode: this.options.cluster ? 'cluster' : this.options.restarts ? 'embedded' : 'remote',
      ...(this.options.cluster ? { runners: this.options.cluster.runners() } : {}),
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
  async startRun(runId: string, graph: PipelineGraph, record: () => Promise<void>, options?: RunOptions): Promise<RunnerStartResult> {
    this.starting.add(runId);
    try {
      await record();
      // The row names its runner before the runner has it: from then on only this runner's web server judges it.
      // In cluster mode the runner is not known yet: run.started names it.
      const runnerId = this.options.cluster ? null : (this.knownRunnerId ?? (await this.fetchRunnerId()));
      if (runnerId) await this.repo.runs.update(runId, { runnerId });
      return await this.link.start(runId, graph, options);
    } finally {
      this.starting.delete(runId);
      this.startedSinceSnapshot.add(runId);
    }
  }

  async cancelRun(runId: string): Promise<{ cancelled: boolean }> {
    return this.link.cancel(runId);
  }

  /**
   * Calls `listener` each time a run's final status is in the database: after its run.finished is stored, or when
   * it is marked interrupted. Returns an unsubscribe function.
   */
  onRunEnded(listener: (runId: string, status: string) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  private runEnded(runId: string, status: string): void {
    for (const listener of this.endListeners) {
      try {
        listener(runId, status);
      } catch (err) {
        this.log.error(`run ${runId}: a run-ended listener failed: ${errorMessage(err)}`);
      }
    }
  }

  /** Asks the runner for its id (null when it cannot be reached: the start that follows fails and says so). */
  private async fetchRunnerId(): Promise<string | null> {
    try {
      this.learnCapabilities(await this.link.capabilities());
    } catch {
      // unreachable: left to link.start
    }
    return this.knownRunnerId;
  }

  // ---------------------------------------------------------------- events

  private handleLiveEvent(event: RunEvent): Promise<void> {
    if (!this.options.cluster) {
      this.relayIfNew(event);
      return this.enqueue(() => this.persist([event]));
    }
    // Cluster: relayed once stored (persist), through the adapter to every web server's browsers. A browser joins
    // the room before it reads the stored history, so an event relayed after its commit is never missed by both.
    return this.enqueue(async () => {
      const stored = await this.repo.runEvents.lastSeq(event.runId);
      if (event.seq <= stored) return;
      if (event.seq === stored + 1) return this.persist([event]);
      // Ahead of what is stored: the events between went to another web server (or are still on their way).
      let batch: RunEvent[];
      try {
        batch = (await this.link.events(event.runId, stored)).filter((e) => e.seq <= event.seq);
      } catch (err) {
        this.scheduleRetry(event.runId, err);
        return;
      }
      if (!batch.some((e) => e.seq === event.seq)) batch.push(event);
      await this.persist(batch);
    });
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

  /**
   * Stores events (all of one run, in seq order) and the row changes of the newly stored ones in one
   * transaction. Files the changes need (full metrics, export metadata) are read before it. A failure
   * stores nothing; the run's events are fetched again from the runner after a backoff.
   */
  private async persist(events: RunEvent[]): Promise<void> {
    if (events.length === 0) return;
    const runId = events[0]!.runId;
    const writers = new Map<number, RowWriter>();
    for (const event of events) {
      if (!hasSideEffect(event)) continue;
      try {
        writers.set(event.seq, await this.prepareSideEffect(event));
      } catch (err) {
        // Not a database failure: a retry would fail the same way. The event is stored without it.
        this.log.error(`run ${runId}: ${event.type} (seq ${event.seq}) changes nothing in the run's row: ${errorMessage(err)}`);
      }
    }
    const afterCommit: Array<() => void> = [];
    try {
      await this.repo.runEvents.append(events, {
        onStored: async (stored: RunEvent[], tx: Db) => {
          if (this.options.cluster) afterCommit.push(() => stored.forEach((e) => this.relay.runEvent(e)));
          const repo = createRepositories(tx);
          for (const event of stored) {
            const notify = await writers.get(event.seq)?.(repo);
            if (notify) afterCommit.push(notify);
          }
        },
      });
    } catch (err) {
      if ((err as Error)?.name === 'NotFoundError') {
        this.logUnknownRun(runId);
        return;
      }
      this.scheduleRetry(runId, err);
      return;
    }
    for (const notify of afterCommit) notify();
  }

  /** Fetches a run's events after its last gap-free stored seq again, later (the runner keeps them all). */
  private scheduleRetry(runId: string, err: unknown): void {
    const previous = this.retries.get(runId);
    const delayMs = previous ? Math.min(previous.delayMs * 2, 30_000) : (this.options.retryAfterMs ?? 1_000);
    if (previous) clearTimeout(previous.timer);
    this.log.error(`run ${runId}: storing its events failed, fetching them again in ${delayMs / 1000} s: ${errorMessage(err)}`);
    if (this.stopped) return;
    const timer = setTimeout(() => {
      void this.enqueue(async () => {
        const lastSeq = await this.repo.runEvents.lastSeq(runId);
        let missed: RunEvent[];
        try {
          missed = await this.link.events(runId, lastSeq);
        } catch (fetchErr) {
          this.scheduleRetry(runId, fetchErr);
          return;
        }
        const before = this.retries.get(runId);
        await this.persist(missed);
        // persist() rescheduled on a new failure; otherwise this run is done retrying.
        if (this.retries.get(runId) === before) this.retries.delete(runId);
      });
    }, delayMs);
    timer.unref?.();
    this.retries.set(runId, { timer, delayMs });
  }

  private readonly warnedUnknown = new Set<string>();
  private logUnknownRun(runId: string): void {
    // A run this web server did not start (another web instance or the CLI on the same runner).
    if (this.warnedUnknown.has(runId)) return;
    this.warnedUnknown.add(runId);
    this.log.warn(`ignoring events of run ${runId}: it has no row in this database`);
  }

  /** What an event changes in the runs/models tables, as a writer to run inside the event's transaction. */
  private async prepareSideEffect(event: RunEvent): Promise<RowWriter> {
    switch (event.type) {
      case 'run.started':
        return async (repo) => {
          const runnerId = event.runnerId ?? this.knownRunnerId;
          // A retried run (cluster mode) starts twice; neither start may undo a final status stored meanwhile.
          const run = await repo.runs.get(event.runId);
          await repo.runs.update(event.runId, {
            ...(run && !UNFINISHED.has(run.status) ? {} : { status: 'running' as const }),
            backend: event.backend,
            device: event.device,
            startedAt: new Date(event.ts),
            ...(runnerId ? { runnerId } : {}),
          });
          return undefined;
        };
      case 'node.failed':
        return async (repo) => {
          const run = await repo.runs.get(event.runId);
          if (run && !run.error) {
            await repo.runs.update(event.runId, { error: `${event.nodeType} node "${event.nodeId}": ${event.message}` });
          }
          return undefined;
        };
      // A reused evaluate/deploy node fills the row like the original did: a rerun's report is complete.
      case 'node.cached':
      case 'node.finished': {
        if (event.nodeType === 'evaluate') {
          const metrics = await this.fullMetrics(event);
          return async (repo) => {
            await repo.runs.update(event.runId, { metrics });
            return undefined;
          };
        }
        if (event.nodeType === 'deploy') return this.prepareModel(event.runId, event.summary ?? {});
        return async () => undefined;
      }
      case 'run.finished':
        return async (repo) => {
          const run = await repo.runs.get(event.runId);
          const error = event.status === 'succeeded' ? null : (event.error ?? run?.error ?? null);
          await repo.runs.update(event.runId, {
            status: event.status,
            finishedAt: new Date(event.ts),
            error,
            summary: { ...(run?.summary ?? {}), durationMs: event.durationMs },
          });
          // Browsers relayed run.finished before this queue stored it (and the full metrics before it):
          // tell them the row is final now, so a refetch gets the report with per-image predictions.
          return () => {
            this.relay.runStatus({ runId: event.runId, status: event.status, error });
            this.runEnded(event.runId, event.status);
          };
        };
      default:
        return async () => undefined;
    }
  }

  /**
   * The evaluate node's full metrics file when readable, else its summary (a remote runner's folders are
   * not here). A reused node's file is in the run that computed it (`from`).
   */
  private async fullMetrics(event: Extract<RunEvent, { type: 'node.finished' | 'node.cached' }>): Promise<Record<string, unknown>> {
    const summary = event.summary ?? {};
    const origin = event.type === 'node.cached' && event.from ? event.from : { runId: event.runId, nodeId: event.nodeId };
    const name = `metrics-${origin.nodeId}.json`;
    if (!this.runFiles || basename(name) !== name || basename(origin.runId) !== origin.runId) return summary;
    try {
      const raw = await this.runFiles.get(runFileKey(origin.runId, name));
      if (!raw) throw new Error(`${runFileKey(origin.runId, name)} is not in ${this.runFiles.describe()}`);
      const full = JSON.parse(raw.toString('utf8')) as unknown;
      if (full && typeof full === 'object' && !Array.isArray(full)) return { ...summary, ...(full as Record<string, unknown>) };
    } catch (err) {
      this.log.warn(`run ${event.runId}: full metrics of ${origin.nodeId} (run ${origin.runId}) unreadable, keeping the summary (${errorMessage(err)})`);
    }
    return summary;
  }

  /** The deploy node's model: checked and its export metadata read now, the row written in the event's transaction. */
  private async prepareModel(runId: string, summary: Record<string, unknown>): Promise<RowWriter> {
    const nothing: RowWriter = async () => undefined;
    const parsed = DeploySummary.safeParse(summary);
    const s = parsed.success ? parsed.data : {};
    const folder = s.dir;
    if (!folder) {
      this.log.warn(`run ${runId}: the deploy summary names no model folder (dir), model not registered`);
      return nothing;
    }
    // Cluster mode: the folder is on the runner's machine; its files are in the store under models/<folder name>/,
    // which is this server's models folder in the store's terms.
    const local = this.options.cluster ? join(this.options.modelsDir, basename(folder)) : folder;
    const modelId = s.modelId ?? basename(local);
    let dir: string;
    let prefix: string;
    try {
      // A node id or summary could name any folder; only one inside the models dir is registered (and served).
      dir = modelDirInside(this.options.modelsDir, { id: modelId, dir: local });
      prefix = modelKeyPrefix(this.options.modelsDir, { id: modelId, dir: local });
    } catch (err) {
      if (!(err instanceof PathOutsideRootError)) throw err;
      this.log.warn(`run ${runId}: deploy folder refused, model not registered: ${err.message}`);
      return nothing;
    }
    const meta = await readExportMeta(this.models, prefix);
    return async (repo) => {
      if (await repo.models.get(modelId)) return undefined;
      const run = await repo.runs.get(runId);
      await repo.models.create({
        id: modelId,
        runId,
        productLineId: run?.productLineId ?? null,
        name: s.name ?? meta.name ?? modelId,
        // Cluster mode: relative to the models folder, so every web server (each with its own DATA_DIR) finds it.
        dir: this.options.cluster ? basename(dir) : dir,
        labels: s.labels ?? meta.labels ?? [],
        inputSize: s.inputSize ?? meta.inputSize ?? 224,
        metrics: meta.metrics ?? run?.metrics ?? null,
      });
      return () => this.log.info(`registered model ${modelId} from run ${runId}`);
    };
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
    // Cluster: runs are not this server's to judge lost (the queue notices a dead runner; another runner ends its run).
    if (this.lostTimer || this.stopped || this.options.cluster) return;
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
      this.learnCapabilities(await this.link.capabilities());
      this.publishStatus();
    } catch (err) {
      this.log.warn(`runner capabilities failed: ${errorMessage(err)}`);
    }
    const unfinished = await this.repo.runs.listUnfinished(this.options.cluster ? {} : { runnerId: this.knownRunnerId });
    const lost: string[] = [];
    for (const run of unfinished) {
      if (this.starting.has(run.id)) continue;
      let missed: RunEvent[] = [];
      try {
        missed = await this.link.events(run.id, run.lastSeq);
      } catch (err) {
        this.log.warn(`run ${run.id}: could not fetch missed events (${errorMessage(err)})`);
      }
      if (!this.options.cluster) for (const event of missed) this.relayIfNew(event);
      await this.persist(missed);
      if (missed.length) this.log.info(`run ${run.id}: recovered ${missed.length} missed event(s)`);
      const after = await this.repo.runs.get(run.id);
      if (!after || !UNFINISHED.has(after.status) || this.options.cluster) continue;
      const caps = this.capabilities;
      const known = caps
        ? caps.currentRunId === run.id || caps.queue.includes(run.id) || (caps.running ?? []).includes(run.id)
        : true;
      if (!known && !this.starting.has(run.id) && !this.startedSinceSnapshot.has(run.id)) lost.push(run.id);
    }
    if (lost.length) await this.markInterrupted(lost, 'Interrupted: the runner restarted and no longer knows this run');
  }

  private async interruptUnfinished(error: string): Promise<void> {
    await this.interruptOwn(error);
  }

  /**
   * Marks interrupted the unfinished runs of this bridge's runner (and legacy rows naming none), never
   * those another web server's runner holds. Also for the web server's own shutdown with an embedded runner.
   */
  async interruptOwn(error: string): Promise<void> {
    const own = await this.repo.runs.listUnfinished({ runnerId: this.knownRunnerId });
    await this.markInterrupted(
      own.map((r) => r.id).filter((id) => !this.starting.has(id)),
      error,
    );
  }

  private async markInterrupted(ids: string[], error: string): Promise<void> {
    const changed = await this.repo.runs.markInterrupted(ids, error);
    for (const run of changed) {
      this.log.warn(`run ${run.id} marked interrupted: ${error}`);
      this.relay.runStatus({ runId: run.id, status: 'interrupted', error });
      this.runEnded(run.id, 'interrupted');
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
