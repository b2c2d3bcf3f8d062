import type { PipelineGraph, RunEventBody, RunStatus } from '@defectflow/nodes';
import type { EventLog } from './event-log.ts';

export interface QueuedRun {
  runId: string;
  graph: PipelineGraph;
  controller: AbortController;
  acceptedAt: number;
  startedAt?: number;
  /** Work of this run still going on: the executor's promise and every node function it started (see track). */
  work: Set<Promise<unknown>>;
  /** Its run.finished is decided (written, or delivered unwritten); the slot waits for `work` to settle. */
  ended?: boolean;
  /** Set when cancel was asked while running: ends the run ourselves if the executor ignores the signal. */
  forceTimer?: NodeJS.Timeout;
  /** Armed when the run ended before its work settled: past it the runner is restarted (onStuck). */
  deadlineTimer?: NodeJS.Timeout;
}

/** Runs one graph; must report through `sink`. May resolve with the executor's status. */
export type RunGraphFn = (
  run: QueuedRun,
  signal: AbortSignal,
  sink: (event: RunEventBody) => void,
) => Promise<{ status?: RunStatus; error?: string } | undefined>;

export interface RunQueueOptions {
  concurrency: number;
  log: EventLog;
  runGraph: RunGraphFn;
  /** Called after every change of the queue or the running set (the runner emits runner:status). */
  onChange?: () => void;
  /** How long a cancelled run may take to stop before the runner ends it itself. */
  cancelGraceMs?: number;
  /**
   * How long an ended run's work may go on (a node that does not check its signal) before onStuck
   * (RUNNER_CANCEL_DEADLINE_S; default 60 s). Until then its slot stays taken: no run starts beside it.
   */
  cancelDeadlineMs?: number;
  /**
   * Called once when a run's work outlived cancelDeadlineMs, after the queued runs were ended (they
   * cannot start on this process): the runner process exits so that its supervisor restarts it. Without
   * it the slot is freed and the queue goes on (the stuck work keeps a core).
   */
  onStuck?: (runId: string, reason: string) => void;
  /** Runs that may wait for a slot (RUNNER_MAX_QUEUED); one more is refused with code 'queue_full'. */
  maxQueued?: number;
}

export type EnqueueResult = { accepted: true; position: number } | { accepted: false; code: string; message: string };

/**
 * FIFO run queue with a concurrency limit. Every run ends with exactly one run.finished in its log,
 * whatever the executor does (throws, forgets the event, ignores cancellation), even when the log
 * cannot be written. A run's failure never stops the queue. A slot is freed only when the run's work
 * has settled (a cancelled node may finish its batch first); work that outlives the deadline makes the
 * runner restart (onStuck), so two runs never compute at once beyond the concurrency.
 */
export class RunQueue {
  private readonly waiting: QueuedRun[] = [];
  private readonly running = new Map<string, QueuedRun>();
  private readonly known = new Set<string>();
  private readonly idleWaiters: Array<() => void> = [];
  private accepting = true;

  constructor(private readonly opts: RunQueueOptions) {}

  get queuedIds(): string[] {
    return this.waiting.map((r) => r.runId);
  }

  get runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** Accepts a run. Position 0 = started now; n = n-th in line. A run id seen before is refused. */
  enqueue(runId: string, graph: PipelineGraph, opts: { resumed?: boolean } = {}): EnqueueResult {
    if (!this.accepting) return { accepted: false, code: 'runner_stopping', message: 'the runner is shutting down' };
    // resumed: cluster mode, where the job queue guarantees one holder and the numbering was continued (continueRun).
    if (!opts.resumed && (this.known.has(runId) || this.opts.log.has(runId))) {
      return {
        accepted: false,
        code: 'duplicate_run_id',
        message: `run "${runId}" already exists on this runner; a run id can be started only once`,
      };
    }
    const maxQueued = this.opts.maxQueued ?? Number.POSITIVE_INFINITY;
    if (this.running.size >= this.opts.concurrency && this.waiting.length >= maxQueued) {
      return {
        accepted: false,
        code: 'queue_full',
        message: `the runner's queue is full: ${this.waiting.length} runs are waiting (limit RUNNER_MAX_QUEUED=${maxQueued}); wait for queued runs to finish or cancel some`,
      };
    }
    this.known.add(runId);
    this.waiting.push({ runId, graph, controller: new AbortController(), acceptedAt: Date.now(), work: new Set() });
    this.pump();
    const index = this.waiting.findIndex((r) => r.runId === runId);
    this.opts.onChange?.();
    return { accepted: true, position: index + 1 };
  }

  /** Cluster mode: a run id may come back (its earlier holder died and the job is retried here). */
  forget(runId: string): void {
    if (!this.running.has(runId) && !this.waiting.some((r) => r.runId === runId)) this.known.delete(runId);
  }

  /** Ends a running run as failed with `error` (cluster mode: another attempt took it over). */
  abort(runId: string, error: string): boolean {
    const run = this.running.get(runId);
    if (!run || run.ended) return false;
    run.controller.abort(new Error(error));
    this.endRun(run, { type: 'run.finished', status: 'failed', error, durationMs: this.elapsed(run) });
    return true;
  }

  /** Cancels a queued run (removed, one run.finished 'cancelled') or a running one (aborted). */
  cancel(runId: string): boolean {
    const index = this.waiting.findIndex((r) => r.runId === runId);
    if (index !== -1) {
      const [run] = this.waiting.splice(index, 1);
      this.finishLog(run as QueuedRun, { type: 'run.finished', status: 'cancelled', durationMs: 0 });
      this.opts.onChange?.();
      this.wakeIdle();
      return true;
    }
    const run = this.running.get(runId);
    if (!run || run.ended || run.controller.signal.aborted) return false;
    run.controller.abort(new Error('cancelled'));
    run.forceTimer = setTimeout(() => {
      this.endRun(run, { type: 'run.finished', status: 'cancelled', durationMs: this.elapsed(run) });
    }, this.opts.cancelGraceMs ?? 5000);
    run.forceTimer.unref();
    return true;
  }

  /**
   * Registers work of a running run (a node function's promise): the run's slot stays taken until
   * it settles, so a cancelled node that is still computing never overlaps the next run.
   */
  track<T>(runId: string, work: Promise<T>): Promise<T> {
    const run = this.running.get(runId);
    if (!run) return work;
    run.work.add(work);
    const settled = () => {
      run.work.delete(work);
      if (run.ended && run.work.size === 0) this.free(run);
    };
    work.then(settled, settled);
    return work;
  }

  /** Ends every running run as failed (e.g. after an uncaught exception in the process). */
  failRunning(error: string): string[] {
    const ids: string[] = [];
    for (const run of [...this.running.values()]) {
      if (run.ended) continue;
      ids.push(run.runId);
      run.controller.abort(new Error(error));
      this.endRun(run, { type: 'run.finished', status: 'failed', error, durationMs: this.elapsed(run) });
    }
    return ids;
  }

  /**
   * Stops accepting, ends queued and running runs as `interrupted` (nobody cancelled them: the runner is
   * stopping), aborts the running ones and waits (up to graceMs) for their work to return.
   */
  async shutdown(graceMs = 5000): Promise<void> {
    this.accepting = false;
    const error = 'Interrupted: the runner stopped before the run finished; start it again';
    for (const run of this.waiting.splice(0)) this.finishLog(run, { type: 'run.finished', status: 'interrupted', error, durationMs: 0 });
    for (const run of [...this.running.values()]) {
      if (!run.ended) this.endRun(run, { type: 'run.finished', status: 'interrupted', error, durationMs: this.elapsed(run) });
      run.controller.abort(new Error('runner stopping'));
    }
    this.opts.onChange?.();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const run of [...this.running.values()]) this.free(run);
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  idle(): Promise<void> {
    if (this.waiting.length === 0 && this.running.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private wakeIdle(): void {
    if (this.waiting.length > 0 || this.running.size > 0) return;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private pump(): void {
    while (this.accepting && this.running.size < this.opts.concurrency && this.waiting.length > 0) {
      const run = this.waiting.shift() as QueuedRun;
      this.start(run);
    }
  }

  private start(run: QueuedRun): void {
    run.startedAt = Date.now();
    this.running.set(run.runId, run);
    const sink = (event: RunEventBody) => {
      if (run.ended) return;
      try {
        this.opts.log.append(run.runId, event);
      } catch (err) {
        // Disk full, or the folder gone: the run cannot be recorded, so it stops, failed, saying why.
        const error = this.logFailure(run.runId, err);
        console.error(`[runner] run ${run.runId}: ${error}`);
        run.controller.abort(new Error(error));
        this.endRun(run, { type: 'run.finished', status: 'failed', error, durationMs: this.elapsed(run) });
      }
    };
    const graphWork = Promise.resolve().then(() => this.opts.runGraph(run, run.controller.signal, sink));
    this.track(run.runId, graphWork);
    graphWork.then(
      (result) => {
        const status: RunStatus = result?.status ?? (run.controller.signal.aborted ? 'cancelled' : 'failed');
        const error = result?.status ? result.error : 'the executor ended without a status';
        this.endRun(run, { type: 'run.finished', status, error, durationMs: this.elapsed(run) });
      },
      (err: unknown) => {
        const aborted = run.controller.signal.aborted;
        const error = err instanceof Error ? err.message : String(err);
        if (!aborted) console.error(`[runner] run ${run.runId} crashed:`, err);
        this.endRun(run, {
          type: 'run.finished',
          status: aborted ? 'cancelled' : 'failed',
          error: aborted ? undefined : error,
          durationMs: this.elapsed(run),
        });
      },
    );
  }

  /**
   * Decides the run's ending: writes the final event unless the executor already did. The slot is
   * freed when the run's work has settled — at once for a run that finished by itself, after the
   * node returned for a cancelled one — or by the deadline.
   */
  private endRun(run: QueuedRun, finished: Extract<RunEventBody, { type: 'run.finished' }>): void {
    if (this.running.get(run.runId) !== run || run.ended) return;
    run.ended = true;
    clearTimeout(run.forceTimer);
    this.finishLog(run, finished);
    if (run.work.size === 0) {
      this.free(run);
      return;
    }
    const deadlineMs = this.opts.cancelDeadlineMs ?? 60_000;
    run.deadlineTimer = setTimeout(() => this.stuck(run, deadlineMs), deadlineMs);
    run.deadlineTimer.unref();
    this.opts.onChange?.();
  }

  /**
   * Writes run.finished unless the log already ends with one. When the line cannot be written (disk
   * full) the ending is still delivered — stamped, sent and kept in memory — as a failure naming the cause.
   */
  private finishLog(run: QueuedRun, finished: Extract<RunEventBody, { type: 'run.finished' }>): void {
    const { log } = this.opts;
    try {
      if (log.isFinished(run.runId)) return;
      const { error, ...rest } = finished;
      log.append(run.runId, error === undefined ? rest : finished);
    } catch (err) {
      const cause = this.logFailure(run.runId, err);
      console.error(`[runner] run ${run.runId}: ${cause}`);
      // The ending may already be this failure (a write failed mid-run): say it once.
      const error =
        finished.status === 'failed' && finished.error ? (finished.error.includes(cause) ? finished.error : `${finished.error}; ${cause}`) : cause;
      try {
        log.appendUnwritten(run.runId, { ...finished, status: 'failed', error });
      } catch (again) {
        console.error(`[runner] run ${run.runId}: its ending could not be delivered either:`, again);
      }
    }
  }

  private logFailure(runId: string, err: unknown): string {
    const message = err instanceof Error ? err.message : String(err);
    return `the runner could not write the run's event log (DATA_DIR/runs/${runId}/events.jsonl): ${message}`;
  }

  /** Frees the slot of an ended run and starts the next one. */
  private free(run: QueuedRun): void {
    if (this.running.get(run.runId) !== run) return;
    clearTimeout(run.forceTimer);
    clearTimeout(run.deadlineTimer);
    this.running.delete(run.runId);
    this.pump();
    this.opts.onChange?.();
    this.wakeIdle();
  }

  /** The run's work outlived the deadline: this process cannot stop it, so it ends queued runs and asks to restart. */
  private stuck(run: QueuedRun, deadlineMs: number): void {
    if (this.running.get(run.runId) !== run) return;
    const reason = `run ${run.runId} did not stop within ${deadlineMs / 1000} s of its end (RUNNER_CANCEL_DEADLINE_S)`;
    if (!this.opts.onStuck) {
      console.error(`[runner] ${reason}; freeing its slot while it may still compute`);
      this.free(run);
      return;
    }
    this.accepting = false;
    for (const queued of this.waiting.splice(0)) {
      this.finishLog(queued, {
        type: 'run.finished',
        status: 'failed',
        error: `not started: the runner restarts because ${reason}; start the run again`,
        durationMs: 0,
      });
    }
    this.opts.onChange?.();
    this.opts.onStuck(run.runId, reason);
  }

  private elapsed(run: QueuedRun): number {
    return Date.now() - (run.startedAt ?? run.acceptedAt);
  }
}
