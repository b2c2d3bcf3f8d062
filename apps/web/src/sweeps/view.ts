/**
 * What the sweep pages read from `sweeps.get` (the agreed SweepView, only the fields used here) and the small
 * pure helpers they share: columns, score formatting, the best trial, what went wrong.
 */
import {
  bestTrial,
  paramKey,
  SWEEP_METRIC_LABELS,
  type SweepDimension,
  type SweepMetric,
  type SweepSpec,
  type SweepValue,
  type TrialParams,
} from '@defectflow/nodes';

export type SweepStatus = 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';
export type TrialStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled' | 'interrupted';

export interface TrialView {
  index: number;
  rung: number;
  params: TrialParams;
  /** The pipeline's current settings (trial 1, and its halving promotions). */
  baseline?: boolean;
  runId: string | null;
  status: TrialStatus;
  score: number | null;
  reusedFeatures: boolean | null;
  /** Epochs the train node trained. */
  epochs?: number | null;
  durationMs: number | null;
  error: string | null;
}

export interface FinalMetrics {
  accuracy?: number | null;
  macroF1?: number | null;
  auroc?: number | null;
  split?: string;
}

export interface SweepView {
  id: string;
  name: string;
  status: SweepStatus;
  spec: SweepSpec;
  metric: SweepMetric;
  createdAt: string;
  finishedAt: string | null;
  error: string | null;
  pipelineId: string | null;
  templateId: string | null;
  productLineId: string | null;
  bestTrialIndex: number | null;
  trials: TrialView[];
  final: null | { runId: string; status: string; metrics: FinalMetrics | null };
  elapsedMs: number;
  /** What the server planned ("done of planned"), when it says. */
  trialsPlanned?: number;
}

/** One column per varied param, in the spec's order. */
export interface ParamColumn {
  key: string;
  nodeId: string;
  param: string;
  dimension: SweepDimension;
}

export function paramColumns(spec: Pick<SweepSpec, 'dimensions'>): ParamColumn[] {
  return spec.dimensions.map((d) => ({ key: paramKey(d.nodeId, d.param), nodeId: d.nodeId, param: d.param, dimension: d }));
}

/** A param value for a cell or a tooltip: numbers to 4 significant digits, booleans as on/off. */
export function formatParam(value: SweepValue | undefined): string {
  if (value === undefined) return '–';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return value;
}

/** Scores come as the node summaries give them: fractions (0..1) for F1/accuracy/AUROC, shown as percent; raw loss. */
export function formatScore(metric: SweepMetric, score: number | null | undefined): string {
  if (score === null || score === undefined || !Number.isFinite(score)) return '–';
  return metric === 'valLoss' ? score.toFixed(4) : formatFraction(score);
}

/** 0.8025 → "80.3%" (the evaluate node's summaries and the final metrics hold fractions). */
export function formatFraction(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : `${(value * 100).toFixed(1)}%`;
}

export function metricLabel(metric: SweepMetric): string {
  return SWEEP_METRIC_LABELS[metric] ?? metric;
}

/** The short name a column header or an axis gets. */
export const METRIC_SHORT: Record<SweepMetric, string> = {
  macroF1: 'val macro F1',
  accuracy: 'val accuracy',
  auroc: 'val AUROC',
  valLoss: 'val loss',
};

export function isTrialFinished(status: TrialStatus): boolean {
  return status !== 'queued' && status !== 'running';
}

/**
 * The best trial: the server's pick when it made one, else the best succeeded score so far by the driver's rule
 * (bestTrial: any rung; ties to more epochs trained, then the earlier trial).
 */
export function bestTrialOf(view: Pick<SweepView, 'bestTrialIndex' | 'trials' | 'metric'>): TrialView | null {
  if (view.bestTrialIndex !== null) return view.trials.find((t) => t.index === view.bestTrialIndex) ?? null;
  const records = view.trials
    .filter((t) => isTrialFinished(t.status))
    .map((t) => ({
      index: t.index,
      rung: t.rung,
      params: t.params,
      upstreamKey: '',
      outcome: { status: t.status as 'succeeded', score: t.score, reusedFeatures: Boolean(t.reusedFeatures), epochs: t.epochs, durationMs: t.durationMs ?? 0 },
    }));
  const best = bestTrial(records, view.metric);
  return best ? (view.trials.find((t) => t.index === best.index) ?? null) : null;
}

/**
 * The baseline trial to compare the best with: the scored one that trained longest (halving promotes it with more
 * epochs), null when the sweep has none scored.
 */
export function baselineTrialOf(trials: TrialView[]): TrialView | null {
  const scored = trials.filter((t) => t.baseline && t.status === 'succeeded' && t.score !== null);
  return scored.reduce<TrialView | null>((a, t) => (!a || t.rung > a.rung ? t : a), null);
}

/**
 * Trials planned: the server's count when it gives one; else the budget, or a smaller grid (integer rounding may
 * merge a few of its points).
 */
export function plannedTrials(view: Pick<SweepView, 'spec' | 'trialsPlanned'>): number {
  if (view.trialsPlanned !== undefined) return view.trialsPlanned;
  const spec = view.spec;
  if (spec.strategy !== 'grid') return spec.budget.trials;
  const size = spec.dimensions.reduce((n, d) => n * (d.kind === 'list' ? d.values.length : d.steps), 1);
  return Math.min(size, spec.budget.trials);
}

/** Why there is nothing to show, in words: the sweep's own error, else the first failed trial's. */
export function whatWentWrong(view: Pick<SweepView, 'status' | 'error' | 'trials'>): string | null {
  const finished = view.trials.filter((t) => isTrialFinished(t.status));
  const failed = finished.filter((t) => t.status === 'failed');
  if (view.error) return view.error;
  if (finished.length > 0 && failed.length === finished.length && view.status !== 'running') {
    const first = failed.find((t) => t.error);
    return `All ${failed.length} ${failed.length === 1 ? 'trial' : 'trials'} failed. The first error (trial ${(first ?? failed[0])!.index + 1}): ${first?.error ?? 'no message'}`;
  }
  return null;
}

/** "learningRate 0.0023, dropout 0.3": a trial's params in one line. */
export function describeParams(params: TrialParams, columns: ParamColumn[]): string {
  return columns.map((c) => `${c.param} ${formatParam(params[c.key])}`).join(', ');
}
