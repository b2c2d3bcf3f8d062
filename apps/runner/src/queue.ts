import type { PipelineGraph, RunEventBody, RunStatus } from '@defectflow/nodes';
import type { EventLog } from './event-log.ts';

export interface QueuedRun {
  runId: string;
  graph: PipelineGraph;
  controller: AbortController;
  acceptedAt: number;
  startedAt?: number;
  /** Set when cancel was asked while running: ends the run ourselves if the executor ignores the signal. */
  forceTimer?: NodeJS.Timeout;
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
}

export type EnqueueResult = { accepted: true; position: number } | { accepted: false; code: string; message: string };

/**
 * FIFO run queue with a concurrency limit. Every run ends with exactly one run.finished in its log,
 * whatever the executor does (throws, forgets the event, ignores cancellation). A run's failure never
 * stops the queue.
 */
export class RunQueue {
  private readonly waiting: QueuedRun[] = [];
  private readonly running = new Map<string, QueuedRun>();
  private readonly known = new Set<string>();
  private readonly settled = new Map<string, Promise<void>>();
  private accepting = true;

  constructor(private readonly opts: RunQueueOptions) {}

  get queuedIds(): string[] {
    return this.waiting.map((r) => r.runId);
  }

  get runningIds(): string[] {
    return [...this.running.keys()];
  }

  /** Accepts a run. Position 0 = started now; n = n-th in line. A run id seen before is refused. */
  enqueue(runId: string, graph: PipelineGraph): EnqueueResult {
    if (!this.accepting) return { accepted: false, code: 'runner_stopping', message: 'the runner is shutting down' };
    if (this.known.has(runId) || this.opts.log.has(runId)) {
      return {
        accepted: false,
        code: 'duplicate_run_id',
        message: `run "${runId}" already exists on this runner; a run id can be started only once`,
      };
    }
    this.known.add(runId);
    this.waiting.push({ runId, graph, controller: new AbortController(), acceptedAt: Date.now() });
    this.pump();
    const index = this.waiting.findIndex((r) => r.runId === runId);
    this.opts.onChange?.();
    return { accepted: true, position: index + 1 };
  }

  /** Cancels a queued run (removed, one run.finished 'cancelled') or a running one (aborted). */
  cancel(runId: string): boolean {
    const index = this.waiting.findIndex((r) => r.runId === runId);
    if (index !== -1) {
      this.waiting.splice(index, 1);
      this.opts.log.append(runId, { type: 'run.finished', status: 'cancelled', durationMs: 0 });
      this.opts.onChange?.();
      return true;
    }
    const run = this.running.get(runId);
    if (!run || run.controller.signal.aborted) return false;
    run.controller.abort(new Error('cancelled'));
    run.forceTimer = setTimeout(() => {
      this.endRun(run, { type: 'run.finished', status: 'cancelled', durationMs: this.elapsed(run) });
    }, this.opts.cancelGraceMs ?? 5000);
    run.forceTimer.unref();
    return true;
  }

  /** Ends every running run as failed (e.g. after an uncaught exception in the process). */
  failRunning(error: string): string[] {
    const ids = this.runningIds;
    for (const run of [...this.running.values()]) {
      run.controller.abort(new Error(error));
      this.endRun(run, { type: 'run.finished', status: 'failed', error, durationMs: this.elapsed(run) });
    }
    return ids;
  }

  /** Stops accepting, cancels queued and running runs, and waits (up to graceMs) for the running ones. */
  async shutdown(graceMs = 5000): Promise<void> {
    this.accepting = false;
    for (const run of [...this.waiting]) this.cancel(run.runId);
    const pending = [...this.running.values()];
    for (const run of pending) this.cancel(run.runId);
    const done = Promise.all(pending.map((r) => this.settled.get(r.runId)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const run of [...this.running.values()]) {
      this.endRun(run, { type: 'run.finished', status: 'cancelled', durationMs: this.elapsed(run) });
    }
  }

  /** Resolves when nothing is queued or running (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.waiting.length > 0 || this.running.size > 0) {
      await Promise.all([...this.running.keys()].map((id) => this.settled.get(id)));
      await new Promise((r) => setImmediate(r));
    }
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
      this.opts.log.append(run.runId, event);
    };
    const settled = Promise.resolve()
      .then(() => this.opts.runGraph(run, run.controller.signal, sink))
      .then(
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
    this.settled.set(run.runId, settled);
    void settled.finally(() => this.settled.delete(run.runId));
  }

  /** Writes the final event unless the executor already did, frees the slot, starts the next run. */
  private endRun(run: QueuedRun, finished: Extract<RunEventBody, { type: 'run.finished' }>): void {
    if (this.running.get(run.runId) !== run) return;
    clearTimeout(run.forceTimer);
    if (!this.opts.log.isFinished(run.runId)) {
      const { error, ...rest } = finished;
      this.opts.log.append(run.runId, error === undefined ? rest : finished);
    }
    this.running.delete(run.runId);
    this.pump();
    this.opts.onChange?.();
  }

  private elapsed(run: QueuedRun): number {
    return Date.now() - (run.startedAt ?? run.acceptedAt);
  }
}
