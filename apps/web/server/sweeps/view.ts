/** What sweeps.get and sweeps.list answer, built from the database only (a reloaded page sees everything). */
import type { RunRowStatus, Sweep, SweepRowStatus, SweepRun } from '@defectflow/db';
import { bestTrial, type SweepMetric, type SweepSpec, type SweepStrategy, type TrialParams, type TrialRecord } from '@defectflow/nodes';

export interface SweepTrialView {
  index: number;
  rung: number;
  params: TrialParams;
  /** The pipeline's current settings (trial 1, and its halving promotions): the page's "current settings" badge. */
  baseline: boolean;
  runId: string | null;
  status: RunRowStatus;
  /** The sweep metric on the validation split, as the node summaries give it (fractions 0..1; valLoss raw). */
  score: number | null;
  reusedFeatures: boolean | null;
  /** Epochs the train node trained (null: not reported, or not ended). */
  epochs: number | null;
  durationMs: number | null;
  error: string | null;
}

export interface SweepFinalView {
  runId: string;
  status: RunRowStatus;
  metrics: { accuracy?: number; macroF1?: number; auroc?: number; split?: string } | null;
}

export interface SweepView {
  id: string;
  name: string;
  status: SweepRowStatus;
  spec: SweepSpec;
  metric: SweepMetric;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  pipelineId: string | null;
  templateId: string | null;
  productLineId: string | null;
  /** The best trial: the sweep's when it has ended, the best so far while it runs. */
  bestTrialIndex: number | null;
  /** Trials the planner proposed (a random sweep over a small finite space may plan fewer than the budget). */
  trialsPlanned: number;
  trials: SweepTrialView[];
  final: SweepFinalView | null;
  elapsedMs: number;
}

export interface SweepListItem {
  id: string;
  name: string;
  status: SweepRowStatus;
  strategy: SweepStrategy;
  metric: SweepMetric;
  trialsPlanned: number;
  trialsDone: number;
  bestScore: number | null;
  createdAt: string;
  finishedAt: string | null;
}

/** How long a run ran: the runner's own figure (run.finished), else started → finished. */
export function runDurationMs(run: Pick<SweepRun, 'summary' | 'startedAt' | 'finishedAt'>, now = Date.now()): number | null {
  const reported = run.summary?.durationMs;
  if (typeof reported === 'number') return reported;
  if (!run.startedAt) return null;
  return (run.finishedAt?.getTime() ?? now) - run.startedAt.getTime();
}

const DONE: ReadonlySet<string> = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

function trialViews(runs: readonly SweepRun[], now: number): SweepTrialView[] {
  return runs
    .filter((r) => r.sweepTrial?.role === 'trial')
    .map((r) => {
      const t = r.sweepTrial!;
      return {
        index: t.index,
        rung: t.rung,
        params: t.params,
        baseline: t.baseline === true,
        runId: r.id,
        status: r.status,
        score: t.score ?? null,
        reusedFeatures: t.reusedFeatures ?? null,
        epochs: t.epochs ?? null,
        durationMs: runDurationMs(r, now),
        error: r.error,
      };
    })
    .sort((a, b) => a.index - b.index);
}

/** The sweep's best trial; while it runs (none recorded yet), the best so far by the driver's own rule (bestTrial). */
function bestIndex(sweep: Sweep, spec: SweepSpec, trials: readonly SweepTrialView[]): number | null {
  if (sweep.bestTrialIndex !== null) return sweep.bestTrialIndex;
  const records: TrialRecord[] = trials
    .filter((t) => DONE.has(t.status))
    .map((t) => ({
      index: t.index,
      rung: t.rung,
      params: t.params,
      upstreamKey: '',
      outcome: { status: t.status as 'succeeded', score: t.score, reusedFeatures: Boolean(t.reusedFeatures), epochs: t.epochs, durationMs: t.durationMs ?? 0 },
    }));
  return bestTrial(records, spec.metric)?.index ?? null;
}

export function sweepView(sweep: Sweep, runs: readonly SweepRun[], now = Date.now()): SweepView {
  const spec = sweep.spec as unknown as SweepSpec;
  const trials = trialViews(runs, now);
  const finalRun = sweep.finalRunId ? runs.find((r) => r.id === sweep.finalRunId) : undefined;
  return {
    id: sweep.id,
    name: sweep.name,
    status: sweep.status,
    spec,
    metric: spec.metric,
    createdAt: sweep.createdAt.toISOString(),
    finishedAt: sweep.finishedAt?.toISOString() ?? null,
    error: sweep.error,
    pipelineId: sweep.pipelineId,
    templateId: sweep.templateId,
    productLineId: sweep.productLineId,
    bestTrialIndex: bestIndex(sweep, spec, trials),
    trialsPlanned: sweep.trialsPlanned,
    trials,
    final: finalRun
      ? { runId: finalRun.id, status: finalRun.status, metrics: (sweep.finalMetrics as SweepFinalView['metrics']) ?? null }
      : null,
    elapsedMs: (sweep.finishedAt?.getTime() ?? now) - sweep.createdAt.getTime(),
  };
}

export function sweepListItem(sweep: Sweep, runs: readonly SweepRun[]): SweepListItem {
  const spec = sweep.spec as unknown as SweepSpec;
  const trials = trialViews(runs, Date.now());
  const best = bestIndex(sweep, spec, trials);
  return {
    id: sweep.id,
    name: sweep.name,
    status: sweep.status,
    strategy: spec.strategy,
    metric: spec.metric,
    trialsPlanned: sweep.trialsPlanned,
    trialsDone: trials.filter((t) => DONE.has(t.status)).length,
    bestScore: best === null ? null : (trials.find((t) => t.index === best)?.score ?? null),
    createdAt: sweep.createdAt.toISOString(),
    finishedAt: sweep.finishedAt?.toISOString() ?? null,
  };
}
