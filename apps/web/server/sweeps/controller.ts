/**
 * Drives hyperparameter sweeps inside the web server. Each started sweep runs the driver loop (`runSweep` from
 * @defectflow/nodes: planner, parallel limit, budgets, best trial) here; every trial is an ordinary run, recorded and
 * queued through the same path as runs.start (run-start.ts) with `runs.sweep_id` / `runs.sweep_trial`, so trials go
 * through the runner queue, have their own events and run page. A trial ends when its run's final status is stored
 * (RunnerBridge.onRunEnded); its score and feature reuse are read from the run's stored node summaries. After the
 * trials, the best params run once more with the pipeline's own evaluate split (test): the sweep's final metrics.
 *
 * Everything a sweep page shows is in the database (sweeps row + its runs), so a reload loses nothing. A web
 * server that stops leaves its sweeps `running`; at the next start `recover` marks them interrupted and cancels
 * their leftover runs (resuming a sweep is not supported). In cluster mode a sweep names its server
 * (`web:<WEB_ID>`): a restart judges only its own, and another server interrupts those of a server that is gone
 * (`recoverAbandoned`, on the servers' presence keys in Redis).
 */
import { randomUUID } from 'node:crypto';
import type { Repositories, Run, Sweep, SweepTrialInfo } from '@defectflow/db';
import {
  finalGraph,
  type PipelineGraph,
  type RunStatus,
  runSweep,
  type SweepSpec,
  type TrialOutcome,
  type TrialPlan,
  type TrialRecord,
  trialEpochs,
  trialReusedFeatures,
  trialScore,
} from '@defectflow/nodes';
import { TRPCError } from '@trpc/server';
import { errorMessage, type Logger, silentLogger } from '../log.ts';
import { type RunSource, submitRun } from '../run-start.ts';
import type { RunnerControl } from '../trpc.ts';
import { plannedTrialCount } from './plan.ts';
import { runDurationMs } from './view.ts';

export interface SweepControllerOptions {
  repo: Repositories;
  runner: RunnerControl;
  /** SWEEP_MAX_RUNNING: sweeps driven at once. */
  maxRunning: number;
  log?: Logger;
  /**
   * How often a waiting trial re-reads its run's row. The runner's end notices (onRunEnded) normally wake it
   * first; this is the safety net (and the only way with a runner control that has no notices).
   */
  pollMs?: number;
}

export interface StartSweepInput {
  name: string;
  /** Checked with checkSweep; dataset versions pinned, as runs.start does. */
  graph: PipelineGraph;
  spec: SweepSpec;
  source: RunSource;
}

const FINISHED_RUN = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/** The error of a sweep found `running` when its web server starts (the loop that drove it is gone). */
export const SWEEP_RESTART_ERROR =
  'Interrupted: the web server stopped while this sweep ran. Resuming a sweep is not supported: its finished trials ' +
  'stay listed; start the sweep again to run the rest.';

/** How long close() waits for the sweep loops to notice (they do no more database writes once closing). */
const CLOSE_WAIT_MS = 5_000;

interface ActiveSweep {
  /** Aborted by sweeps.cancel: no new trials, the trials' runs are cancelled. */
  cancel: AbortController;
  done: Promise<void>;
}

/** A run's end, or why there is no run to wait for. */
type RunEnd = { run: Run } | { run: null; status: RunStatus; error: string };

export class SweepController {
  private readonly repo: Repositories;
  private readonly runner: RunnerControl;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly active = new Map<string, ActiveSweep>();
  /** Starts between the limit check and the loop's launch (so two at once cannot both pass the limit). */
  private reserved = 0;
  /** Aborted by close(): loops stop starting trials and stop writing. */
  private readonly closing = new AbortController();
  /** Every sweep this controller created (its id chosen before the insert): recover() never judges those. */
  private readonly own = new Set<string>();

  constructor(private readonly options: SweepControllerOptions) {
    this.repo = options.repo;
    this.runner = options.runner;
    this.log = options.log ?? silentLogger;
    this.pollMs = options.pollMs ?? 3_000;
  }

  /** Records the sweep and starts its loop; TOO_MANY_REQUESTS past SWEEP_MAX_RUNNING. */
  async start(input: StartSweepInput): Promise<Sweep> {
    if (this.closing.signal.aborted) {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: 'The web server is stopping: start the sweep again once it is back' });
    }
    const max = this.options.maxRunning;
    if (this.active.size + this.reserved >= max) {
      throw new TRPCError({
        code: 'TOO_MANY_REQUESTS',
        message: `${max} sweep(s) are running already, the most this server drives at once (SWEEP_MAX_RUNNING=${max}): wait for one to finish or cancel one`,
      });
    }
    this.reserved++;
    try {
      const id = randomUUID();
      this.own.add(id);
      const sweep = await this.repo.sweeps.create({
        id,
        name: input.name,
        productLineId: input.source.productLineId,
        pipelineId: input.source.pipelineId,
        templateId: input.source.templateId,
        templateVersionId: input.source.templateVersionId,
        graph: input.graph,
        spec: input.spec as unknown as Record<string, unknown>,
        trialsPlanned: plannedTrialCount(input.graph, input.spec),
        driverId: this.runner.runnerId ?? null, // RunnerBridge: its runner's id, or `web:<WEB_ID>` in cluster mode
      });
      const cancel = new AbortController();
      const entry: ActiveSweep = { cancel, done: Promise.resolve() };
      this.active.set(sweep.id, entry);
      entry.done = this.drive(sweep, input.spec, input.source, cancel.signal).finally(() => this.active.delete(sweep.id));
      return sweep;
    } finally {
      this.reserved--;
    }
  }

  /**
   * No new trials; the sweep's queued and running runs are cancelled. Its status becomes `cancelled` once the
   * trials in flight have ended. A sweep this process does not drive (left over) is ended here at once.
   */
  async cancel(sweepId: string): Promise<void> {
    const sweep = await this.repo.sweeps.get(sweepId);
    if (sweep?.status !== 'running') return;
    const active = this.active.get(sweepId);
    if (active) active.cancel.abort();
    else await this.repo.sweeps.finish(sweepId, 'cancelled');
    await this.cancelRuns(sweepId);
  }

  /**
   * At start-up: sweeps left `running` by this server's earlier process (those naming its driver id, or none)
   * become interrupted and their unfinished runs are cancelled.
   */
  async recover(driverId: string | null): Promise<Sweep[]> {
    const stale = (await this.repo.sweeps.listRunning({ driverId })).filter((s) => !this.own.has(s.id));
    return this.interrupt(stale, 'the web server restarted while it ran');
  }

  /**
   * Cluster mode, every few seconds: running sweeps driven by another web server that is gone (`isAlive` false for
   * their driver) become interrupted and their unfinished runs are cancelled, as that server would do at its restart.
   */
  async recoverAbandoned(isAlive: (driverId: string) => Promise<boolean>): Promise<Sweep[]> {
    if (this.closing.signal.aborted) return [];
    const gone: Sweep[] = [];
    for (const sweep of await this.repo.sweeps.listRunning()) {
      if (this.own.has(sweep.id) || !sweep.driverId || sweep.driverId === this.runner.runnerId) continue;
      if (!(await isAlive(sweep.driverId))) gone.push(sweep);
    }
    return this.interrupt(gone, 'the web server driving it is gone');
  }

  private async interrupt(sweeps: Sweep[], why: string): Promise<Sweep[]> {
    const changed = await this.repo.sweeps.markInterrupted(
      sweeps.map((s) => s.id),
      SWEEP_RESTART_ERROR,
    );
    for (const sweep of changed) {
      this.log.warn(`sweep ${sweep.id} (${sweep.name}, driven by ${sweep.driverId ?? 'an unnamed server'}) marked interrupted: ${why}`);
      await this.cancelRuns(sweep.id);
    }
    return changed;
  }

  /** Stops every loop (no new trials, no more writes); their sweeps stay `running` until the next start's recover. */
  async close(): Promise<void> {
    this.closing.abort();
    const loops = Promise.allSettled([...this.active.values()].map((a) => a.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([loops, new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private async cancelRuns(sweepId: string): Promise<void> {
    const runs = await this.repo.runs.listBySweeps([sweepId]);
    for (const run of runs) {
      if (FINISHED_RUN.has(run.status)) continue;
      try {
        await this.runner.cancelRun(run.id);
      } catch (err) {
        this.log.warn(`sweep ${sweepId}: could not cancel run ${run.id}: ${errorMessage(err)}`);
      }
    }
  }

  // ------------------------------------------------------------------ the loop

  private async drive(sweep: Sweep, spec: SweepSpec, source: RunSource, cancel: AbortSignal): Promise<void> {
    const stop = AbortSignal.any([cancel, this.closing.signal]);
    try {
      const result = await runSweep({
        graph: sweep.graph,
        spec,
        signal: stop,
        runTrial: (plan, graph) => this.runTrial(sweep, spec, source, plan, graph, cancel),
      });
      if (this.closing.signal.aborted) return;
      const best = result.best;
      if (result.stoppedBy === 'cancelled') {
        await this.repo.sweeps.finish(sweep.id, 'cancelled', { bestTrialIndex: best?.index ?? null });
        return;
      }
      if (!best) {
        await this.repo.sweeps.finish(sweep.id, 'failed', { error: noTrialSucceeded(result.trials, spec.metric) });
        return;
      }
      await this.repo.sweeps.update(sweep.id, { bestTrialIndex: best.index });
      await this.runFinal(sweep, source, best, cancel);
    } catch (err) {
      this.log.error(`sweep ${sweep.id} stopped: ${errorMessage(err)}`);
      if (this.closing.signal.aborted) return;
      await this.repo.sweeps
        .finish(sweep.id, 'failed', { error: `The sweep stopped: ${errorMessage(err)}` })
        .catch((e: unknown) => this.log.error(`sweep ${sweep.id}: could not record its failure: ${errorMessage(e)}`));
    }
  }

  /** One trial: a run of the trial graph, to its end; its score and feature reuse are written on its row. */
  private async runTrial(
    sweep: Sweep,
    spec: SweepSpec,
    source: RunSource,
    plan: TrialPlan,
    graph: PipelineGraph,
    cancel: AbortSignal,
  ): Promise<TrialOutcome> {
    const info: SweepTrialInfo = { index: plan.index, rung: plan.rung, role: 'trial', params: plan.params, ...(plan.baseline ? { baseline: true } : {}) };
    const end = await this.runToEnd(sweep, source, graph, info, cancel);
    if (!end.run) return { status: end.status, score: null, reusedFeatures: false, durationMs: 0, error: end.error };
    const { run } = end;
    const { summaries, cachedNodeIds } = await this.nodeSummaries(run.id);
    const score = run.status === 'succeeded' ? trialScore(graph, summaries, spec.metric) : null;
    const reusedFeatures = run.status === 'succeeded' ? trialReusedFeatures(graph, summaries, cachedNodeIds) : false;
    const epochs = trialEpochs(graph, summaries);
    if (!this.closing.signal.aborted) await this.repo.runs.update(run.id, { sweepTrial: { ...info, score, reusedFeatures, epochs } });
    return {
      status: run.status as RunStatus,
      score,
      reusedFeatures,
      epochs,
      durationMs: runDurationMs(run) ?? 0,
      runId: run.id,
      ...(run.error ? { error: run.error } : {}),
    };
  }

  /** The best params once more with the pipeline's own evaluate split (test by default): the sweep's final metrics. */
  private async runFinal(sweep: Sweep, source: RunSource, best: TrialRecord, cancel: AbortSignal): Promise<void> {
    const graph = finalGraph(sweep.graph, best.params);
    const info: SweepTrialInfo = { index: best.index, rung: best.rung, role: 'final', params: best.params, ...(best.baseline ? { baseline: true } : {}) };
    const end = await this.runToEnd(sweep, source, graph, info, cancel, (runId) =>
      this.repo.sweeps.update(sweep.id, { finalRunId: runId }).then(() => undefined),
    );
    if (this.closing.signal.aborted) return;
    if (cancel.aborted) {
      await this.repo.sweeps.finish(sweep.id, 'cancelled');
      return;
    }
    if (end.run?.status === 'succeeded') {
      const { summaries } = await this.nodeSummaries(end.run.id);
      await this.repo.sweeps.finish(sweep.id, 'succeeded', { finalMetrics: evaluateMetrics(graph, summaries) });
      return;
    }
    const why = end.run ? `${end.run.status}${end.run.error ? `: ${end.run.error}` : ''}` : `failed: ${end.error}`;
    await this.repo.sweeps.finish(sweep.id, 'failed', {
      error: `The trials finished (best: trial ${best.index + 1}) but the final run with its params on the test split ${why}`,
    });
  }

  /**
   * Records and queues one run of the sweep and waits for its end. `recorded` runs once its row exists. The sweep's
   * cancel signal cancels the run; close() stops the wait (run: null, interrupted).
   */
  private async runToEnd(
    sweep: Sweep,
    source: RunSource,
    graph: PipelineGraph,
    info: SweepTrialInfo,
    cancel: AbortSignal,
    recorded?: (runId: string) => Promise<void>,
  ): Promise<RunEnd> {
    if (this.closing.signal.aborted) return { run: null, status: 'interrupted', error: 'the web server is stopping' };
    if (cancel.aborted) return { run: null, status: 'cancelled', error: 'the sweep was cancelled' };
    // Cancelled or ended elsewhere (another web server on the same database, a restart): start nothing more.
    const current = await this.repo.sweeps.get(sweep.id);
    if (current?.status !== 'running') {
      this.active.get(sweep.id)?.cancel.abort();
      return { run: null, status: 'cancelled', error: `the sweep is ${current?.status ?? 'gone'}` };
    }
    const runId = randomUUID();
    let submitError: unknown;
    try {
      await submitRun({ repo: this.repo, runner: this.runner }, { runId, graph, source, sweepId: sweep.id, sweepTrial: info });
    } catch (err) {
      submitError = err; // the row (when recorded) says failed with the reason
    }
    const row = await this.repo.runs.get(runId);
    if (!row) return { run: null, status: 'failed', error: errorMessage(submitError) };
    await recorded?.(runId);
    const run = await this.waitForEnd(runId, cancel);
    if (!run) return { run: null, status: 'interrupted', error: 'the web server is stopping' };
    return { run };
  }

  /** The run's row once its status is final; null when close() stops the wait. A cancelled sweep cancels the run. */
  private waitForEnd(runId: string, cancel: AbortSignal): Promise<Run | null> {
    return new Promise((resolve) => {
      const cleanups: Array<() => void> = [];
      let settled = false;
      const settle = (run: Run | null) => {
        if (settled) return;
        settled = true;
        for (const fn of cleanups) fn();
        resolve(run);
      };
      const check = () => {
        if (settled) return;
        this.repo.runs.get(runId).then(
          (run) => {
            if (!run) settle(deletedRun(runId));
            else if (FINISHED_RUN.has(run.status)) settle(run);
          },
          (err: unknown) => this.log.warn(`run ${runId}: reading its status failed: ${errorMessage(err)}`),
        );
      };
      const off = this.runner.onRunEnded?.((id) => {
        if (id === runId) check();
      });
      if (off) cleanups.push(off);
      const timer = setInterval(check, this.pollMs);
      timer.unref?.();
      cleanups.push(() => clearInterval(timer));
      const onCancel = () => {
        this.runner.cancelRun(runId).catch((err: unknown) => this.log.warn(`run ${runId}: cancel failed: ${errorMessage(err)}`));
      };
      if (cancel.aborted) onCancel();
      else {
        cancel.addEventListener('abort', onCancel, { once: true });
        cleanups.push(() => cancel.removeEventListener('abort', onCancel));
      }
      const onClose = () => settle(null);
      if (this.closing.signal.aborted) onClose();
      else {
        this.closing.signal.addEventListener('abort', onClose, { once: true });
        cleanups.push(() => this.closing.signal.removeEventListener('abort', onClose));
      }
      check();
    });
  }

  /** Each node's summary from the run's stored node.finished / node.cached events, and which nodes were reused. */
  private async nodeSummaries(runId: string) {
    const events = await this.repo.runEvents.listOfTypes(runId, ['node.finished', 'node.cached']);
    const summaries: Record<string, Record<string, unknown> | undefined> = {};
    const cachedNodeIds: string[] = [];
    for (const event of events) {
      if (event.type !== 'node.finished' && event.type !== 'node.cached') continue;
      summaries[event.nodeId] = event.summary;
      if (event.type === 'node.cached') cachedNodeIds.push(event.nodeId);
    }
    return { summaries, cachedNodeIds };
  }
}

/** A run row deleted while its trial waited (runs.delete): the trial failed. */
function deletedRun(runId: string): Run {
  return { id: runId, status: 'failed', error: `run ${runId} was deleted`, summary: null, startedAt: null, finishedAt: null } as Run;
}

/** The first evaluate node's headline metrics (fractions 0..1, as its summary has them) and split. */
function evaluateMetrics(graph: PipelineGraph, summaries: Record<string, Record<string, unknown> | undefined>): Record<string, unknown> | null {
  const node = graph.nodes.find((n) => n.type === 'evaluate' && summaries[n.id]);
  const s = node ? summaries[node.id] : undefined;
  if (!s) return null;
  return { accuracy: s.accuracy ?? null, macroF1: s.macroF1 ?? null, auroc: s.auroc ?? null, split: s.split ?? null };
}

function noTrialSucceeded(trials: readonly TrialRecord[], metric: string): string {
  const failed = trials.find((t) => t.outcome?.error);
  if (trials.length === 0) return 'No trial ran.';
  if (!failed) {
    const hint = metric === 'auroc' ? ": AUROC needs a good class (the evaluate node's goodClass)" : '';
    return `No trial produced the sweep's metric ${metric} (${trials.length} trial(s) ran)${hint}.`;
  }
  return `No trial succeeded. Trial ${failed.index + 1}: ${failed.outcome?.error}`;
}
