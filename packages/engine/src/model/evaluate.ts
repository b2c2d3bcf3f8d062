import {
  type Baseline,
  type BaselineVerdict,
  type OperatingMode,
  type OperatingPoint,
  binaryRates,
  type ClassScores,
  confusionAt,
  confusionScores,
  judgeBaseline,
  majorityBaseline,
  thresholdFor,
} from './decision.ts';

export interface EvalItem {
  id: string;
  /** Index into `classes`. */
  label: number;
}

export type { ClassScores };

export interface Prediction {
  id: string;
  trueLabel: string;
  predLabel: string;
  confidence: number;
  probs: number[];
}

export interface RocSummary {
  goodClass: string;
  /** Score = 1 − p(good): how defective the part looks. Points from (0,0) to (1,1). */
  points: { fpr: number; tpr: number; threshold: number }[];
  auroc: number;
  /** Youden's J: the threshold on the defect score maximising TPR − FPR. */
  threshold: number;
  tpr: number;
  fpr: number;
  positives: number;
  negatives: number;
}

export interface Metrics {
  classes: string[];
  count: number;
  accuracy: number;
  perClass: Record<string, ClassScores>;
  macroF1: number;
  /** confusion[true][pred] counts, in `classes` order. */
  confusion: number[][];
  /** Item ids in each confusion cell: cells[trueLabel][predLabel]. */
  cells: Record<string, Record<string, string[]>>;
  predictions: Prediction[];
  roc: RocSummary | null;
  /** Always answering the training split's largest class, scored on this split. */
  baseline: Baseline;
  /** Whether the model clearly beats the baseline (decision.ts BASELINE_MARGIN), with the warning words. */
  baselineVerdict: BaselineVerdict;
  /** The defect-vs-good threshold the predictions above were made with; null = argmax. */
  operatingPoint: OperatingPoint | null;
}

/**
 * What the evaluate node outputs on its Metrics port and writes to `runs/<id>/metrics-<node>.json`; the web
 * server stores it as `runs.metrics` and the report, the deploy gate and the CLI read it.
 */
export type EvaluationReport = Metrics & { split: 'test' | 'val' };

export interface EvaluateOptions {
  /** rows × classes probabilities for `items`, in order (sync or async). */
  predictProbs: (items: EvalItem[]) => Float32Array | number[][] | Promise<Float32Array | number[][]>;
  items: EvalItem[];
  classes: string[];
  /** Name of the "no defect" class; '' or undefined = auto-detect good/ok/normal. */
  goodClass?: string;
  /** Images per class in the training split, for the baseline's majority class (default: this split's counts). */
  trainCounts?: number[];
  /** Pick a defect-vs-good threshold (needs a good class); 'argmax' or absent = the most probable class. */
  operatingPoint?: { mode: OperatingMode; target: number };
}

const GOOD_NAMES = ['good', 'ok', 'normal', 'no_defect', 'nodefect', 'pass'];

export function detectGoodClass(classes: string[], explicit?: string): string | null {
  if (explicit) {
    if (!classes.includes(explicit)) throw new Error(`evaluate goodClass "${explicit}" is not one of the classes (${classes.join(', ')})`);
    return explicit;
  }
  return classes.find((c) => GOOD_NAMES.includes(c.toLowerCase())) ?? null;
}

/** ROC of a score where higher = more positive. Ties are grouped so the curve does not depend on order. */
export function rocCurve(scores: number[], positive: boolean[]): { points: RocSummary['points']; auroc: number } {
  const order = scores.map((_s, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  const P = positive.filter(Boolean).length;
  const N = positive.length - P;
  const points: RocSummary['points'] = [{ fpr: 0, tpr: 0, threshold: Infinity }];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k] as number] as number;
    const prevTpr = P ? tp / P : 0;
    const prevFpr = N ? fp / N : 0;
    while (k < order.length && scores[order[k] as number] === s) {
      if (positive[order[k] as number]) tp++;
      else fp++;
      k++;
    }
    const tpr = P ? tp / P : 0;
    const fpr = N ? fp / N : 0;
    auc += (fpr - prevFpr) * (tpr + prevTpr) * 0.5;
    points.push({ fpr, tpr, threshold: s });
  }
  return { points, auroc: P && N ? auc : NaN };
}

function toRows(probs: Float32Array | number[][], n: number, k: number): number[][] {
  if (Array.isArray(probs)) return probs;
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from(probs.subarray(i * k, (i + 1) * k)));
  return rows;
}

export async function evaluateClassifier(options: EvaluateOptions): Promise<Metrics> {
  const { items, classes } = options;
  const k = classes.length;
  const rows = toRows(await options.predictProbs(items), items.length, k);
  if (rows.length !== items.length) throw new Error(`evaluate: got ${rows.length} predictions for ${items.length} items`);
  const confusion = classes.map(() => new Array<number>(k).fill(0));
  const cells: Metrics['cells'] = {};
  for (const t of classes) {
    cells[t] = {};
    for (const p of classes) (cells[t] as Record<string, string[]>)[p] = [];
  }
  const good = detectGoodClass(classes, options.goodClass);
  const g = good ? classes.indexOf(good) : -1;
  const scores = g >= 0 ? rows.map((r) => 1 - (r[g] as number)) : [];
  const positive = items.map((it) => it.label !== g);
  const mode = options.operatingPoint?.mode ?? 'argmax';
  let threshold: number | null = null;
  if (mode !== 'argmax') {
    const target = options.operatingPoint?.target as number;
    if (!good)
      throw new Error(`evaluate operating point "${mode}" needs a good class: set goodClass (classes: ${classes.join(', ')})`);
    threshold = thresholdFor(scores, positive, mode, target);
    if (threshold === null) throw new Error(`evaluate operating point "${mode}": the evaluated split has no defect images to measure recall on`);
  }
  const decided = confusionAt(rows, items.map((it) => it.label), k, g, threshold);
  const predictions: Prediction[] = [];
  let correct = 0;
  items.forEach((item, i) => {
    const probs = rows[i] as number[];
    const arg = decided.predicted[i] as number;
    const t = classes[item.label] as string;
    const p = classes[arg] as string;
    (confusion[item.label] as number[])[arg]!++;
    (cells[t] as Record<string, string[]>)[p]!.push(item.id);
    if (arg === item.label) correct++;
    predictions.push({ id: item.id, trueLabel: t, predLabel: p, confidence: probs[arg] as number, probs });
  });
  const { perClass, macroF1 } = confusionScores(classes, confusion);
  let roc: RocSummary | null = null;
  if (good) {
    const { points, auroc } = rocCurve(scores, positive);
    let bestJ = -Infinity;
    let chosen = points[0] as RocSummary['points'][number];
    for (const pt of points) {
      if (!Number.isFinite(pt.threshold)) continue;
      if (pt.tpr - pt.fpr > bestJ) {
        bestJ = pt.tpr - pt.fpr;
        chosen = pt;
      }
    }
    roc = {
      goodClass: good,
      points,
      auroc,
      threshold: chosen.threshold,
      tpr: chosen.tpr,
      fpr: chosen.fpr,
      positives: positive.filter(Boolean).length,
      negatives: positive.filter((p) => !p).length,
    };
  }
  const accuracy = items.length ? correct / items.length : 0;
  const baseline = majorityBaseline(classes, items.map((it) => it.label), options.trainCounts);
  const operatingPoint: OperatingPoint | null =
    mode !== 'argmax' && good && threshold !== null
      ? { goodClass: good, mode, target: options.operatingPoint?.target as number, threshold, binary: decided.binary, ...binaryRates(decided.binary) }
      : null;
  return {
    classes,
    count: items.length,
    accuracy,
    perClass,
    macroF1,
    confusion,
    cells,
    predictions,
    roc,
    baseline,
    baselineVerdict: judgeBaseline({ accuracy, macroF1 }, baseline),
    operatingPoint,
  };
}
