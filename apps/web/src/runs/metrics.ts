/**
 * Reads the evaluate node's EvaluationReport (from runs.metrics or its node.finished summary) into one typed
 * shape for the report. Lenient: a missing part (no ROC, no per-item cells) just hides that section, so the
 * shapes below are the engine's with those parts optional.
 */
import type { ClassScores, Prediction as EvaluatedPrediction, RocSummary } from '@defectflow/engine';
import {
  type Baseline,
  type BaselineVerdict,
  type OperatingPoint,
  judgeBaseline,
} from '@defectflow/engine/decision';

export type ClassMetrics = ClassScores;

/** `probs` (per-class, in `classes` order) only in full metrics: the report recomputes the operating point from them. */
export type Prediction = Omit<EvaluatedPrediction, 'probs'> & Partial<Pick<EvaluatedPrediction, 'probs'>>;

/** A summary carries only the AUROC (and the good class); full metrics add the curve. */
export type RocData = Pick<RocSummary, 'auroc'> &
  Partial<Pick<RocSummary, 'threshold' | 'goodClass'>> & {
    points: (Omit<RocSummary['points'][number], 'threshold'> & { threshold?: number })[];
  };

export interface ReportMetrics {
  accuracy: number;
  macroF1: number | null;
  classes: string[];
  perClass: Record<string, ClassMetrics>;
  confusion: number[][];
  /** cells[true][pred] → item ids. */
  cells: Record<string, Record<string, string[]>>;
  predictions: Prediction[];
  roc: RocData | null;
  /** Always answering the training split's largest class; null for runs made before it was reported. */
  baseline: Baseline | null;
  verdict: BaselineVerdict | null;
  operatingPoint: OperatingPoint | null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function obj(v: unknown): Record<string, unknown> | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
}

/** Returns null when `raw` carries no accuracy/confusion at all (not an evaluate result). */
export function parseMetrics(raw: unknown): ReportMetrics | null {
  const m = obj(raw);
  if (!m) return null;
  // Some producers nest the metrics one level down ({metrics: {...}}).
  if (num(m.accuracy) === null && obj(m.metrics)) return parseMetrics(m.metrics);
  const accuracy = num(m.accuracy);
  if (accuracy === null) return null;

  const classes = Array.isArray(m.classes) ? m.classes.map(String) : Object.keys(obj(m.perClass) ?? {});
  const perClass: Record<string, ClassMetrics> = {};
  for (const [name, v] of Object.entries(obj(m.perClass) ?? {})) {
    const c = obj(v);
    if (!c) continue;
    perClass[name] = {
      precision: num(c.precision) ?? 0,
      recall: num(c.recall) ?? 0,
      f1: num(c.f1) ?? 0,
      support: num(c.support) ?? 0,
    };
  }
  const confusion = Array.isArray(m.confusion)
    ? m.confusion.map((row) => (Array.isArray(row) ? row.map((v) => num(v) ?? 0) : []))
    : [];

  const cells: ReportMetrics['cells'] = {};
  for (const [t, row] of Object.entries(obj(m.cells) ?? {})) {
    cells[t] = {};
    for (const [p, ids] of Object.entries(obj(row) ?? {})) {
      if (Array.isArray(ids)) (cells[t] as Record<string, string[]>)[p] = ids.map(String);
    }
  }

  const predictions: Prediction[] = [];
  if (Array.isArray(m.predictions)) {
    for (const p of m.predictions) {
      const o = obj(p);
      if (!o || o.id === undefined) continue;
      predictions.push({
        id: String(o.id),
        trueLabel: String(o.trueLabel ?? ''),
        predLabel: String(o.predLabel ?? ''),
        confidence: num(o.confidence) ?? 0,
        probs: Array.isArray(o.probs) ? o.probs.map((v) => num(v) ?? 0) : undefined,
      });
    }
  }

  let roc: RocData | null = null;
  const r = obj(m.roc);
  if (r && num(r.auroc) !== null) {
    const points = Array.isArray(r.points)
      ? r.points.flatMap((p) => {
          // Points may be {fpr, tpr} objects or [fpr, tpr] pairs.
          if (Array.isArray(p)) return num(p[0]) !== null && num(p[1]) !== null ? [{ fpr: p[0] as number, tpr: p[1] as number }] : [];
          const o = obj(p);
          const fpr = num(o?.fpr);
          const tpr = num(o?.tpr);
          return fpr !== null && tpr !== null ? [{ fpr, tpr, threshold: num(o?.threshold) ?? undefined }] : [];
        })
      : [];
    roc = {
      points,
      auroc: num(r.auroc) as number,
      threshold: num(r.threshold) ?? undefined,
      goodClass: typeof r.goodClass === 'string' ? r.goodClass : undefined,
    };
  }

  // A bare summary (remote runner: full metrics not available) still carries the AUROC.
  if (!roc && num(m.auroc) !== null) roc = { points: [], auroc: num(m.auroc) as number, goodClass: typeof m.goodClass === 'string' ? m.goodClass : undefined };
  const baseline = parseBaseline(m);
  const macroF1 = num(m.macroF1);
  // The verdict is recomputed with the engine's rule, so a bare summary (no baselineVerdict) still warns.
  const verdict = baseline ? judgeBaseline({ accuracy, macroF1: macroF1 ?? 0 }, baseline) : null;
  const op = obj(m.operatingPoint);
  const operatingPoint = op && typeof op.goodClass === 'string' && num(op.threshold) !== null ? (op as unknown as OperatingPoint) : null;
  return { accuracy, macroF1, classes, perClass, confusion, cells, predictions, roc, baseline, verdict, operatingPoint };
}

/** The full metrics' `baseline` object, or the evaluate summary's flat baselineClass/baselineAccuracy/baselineMacroF1. */
function parseBaseline(m: Record<string, unknown>): Baseline | null {
  const b = obj(m.baseline);
  if (b && typeof b.className === 'string' && num(b.accuracy) !== null)
    return { className: b.className, accuracy: num(b.accuracy) as number, macroF1: num(b.macroF1) ?? 0 };
  if (typeof m.baselineClass === 'string' && num(m.baselineAccuracy) !== null)
    return { className: m.baselineClass, accuracy: num(m.baselineAccuracy) as number, macroF1: num(m.baselineMacroF1) ?? 0 };
  return null;
}

/**
 * The items in one confusion cell (or, with predLabel null, the whole row of a true class), with
 * their predictions: misclassified first, then least confident first — the ones worth a look.
 */
export function cellItems(metrics: ReportMetrics, trueLabel: string, predLabel: string | null): Prediction[] {
  const byId = new Map(metrics.predictions.map((p) => [p.id, p]));
  const preds = predLabel === null ? metrics.classes : [predLabel];
  const items: Prediction[] = [];
  for (const pred of preds) {
    // No per-cell ids: fall back to the predictions list.
    const ids =
      metrics.cells[trueLabel]?.[pred] ??
      metrics.predictions.filter((p) => p.trueLabel === trueLabel && p.predLabel === pred).map((p) => p.id);
    for (const id of ids) items.push(byId.get(id) ?? { id, trueLabel, predLabel: pred, confidence: Number.NaN });
  }
  return items.sort((a, b) => {
    const wa = a.trueLabel !== a.predLabel ? 0 : 1;
    const wb = b.trueLabel !== b.predLabel ? 0 : 1;
    if (wa !== wb) return wa - wb;
    return (Number.isNaN(a.confidence) ? 0 : a.confidence) - (Number.isNaN(b.confidence) ? 0 : b.confidence);
  });
}

/** Pulls the metrics from a run: the stored runs.metrics, else the evaluate node's node.finished summary. */
export function metricsFromRun(
  runMetrics: unknown,
  evaluateSummaries: readonly (Record<string, unknown> | undefined)[],
): ReportMetrics | null {
  const fromRow = parseMetrics(runMetrics);
  if (fromRow) return fromRow;
  for (const s of evaluateSummaries) {
    const m = parseMetrics(s);
    if (m) return m;
  }
  return null;
}
