/**
 * The majority-class baseline and the defect-vs-good decision rule, written once.
 *
 * Browser-safe on purpose: NO imports. The web app bundles this file (`@defectflow/engine/decision`) so the
 * report's operating-point control computes exactly what `predictImages` applies;
 * packages/engine/test/model/decision.test.ts keeps it import-free.
 */

/** Always answering the class the training split has most of, scored on the evaluated split. */
export interface Baseline {
  className: string;
  accuracy: number;
  macroF1: number;
}

/**
 * "Clearly better than the baseline" = accuracy at least 2 points above it AND macro-F1 at least 5 points above it.
 * Why these margins: on a typical test split of a few hundred images the standard error of an accuracy near
 * 0.7 is √(0.7·0.3/400) ≈ 2.3 points, so a smaller gain is indistinguishable from always answering the largest
 * class; macro-F1 averages small classes (30–100 images) whose F1 moves by several points per image, hence 5.
 * Both must hold: a model can buy accuracy by ignoring the small classes (macro-F1 flat) or buy macro-F1 by
 * flagging good parts (accuracy below the majority answer) — either way it is not clearly useful yet.
 */
export const BASELINE_MARGIN = { accuracy: 0.02, macroF1: 0.05 } as const;

export interface BaselineVerdict {
  clearlyBetter: boolean;
  /** Words for the user when not clearly better, e.g. "This model is no better than always answering 'good' (71.0 %) …". */
  warning: string | null;
}

const pctText = (v: number) => `${(v * 100).toFixed(1)} %`;

/**
 * The baseline for `evalLabels` (class indices of the evaluated split); the majority class comes from
 * `trainCounts` (images per class in the training split), or from the evaluated split when not given.
 * Macro-F1 follows the evaluator's rule: averaged over classes present in the split or predicted.
 */
export function majorityBaseline(classes: readonly string[], evalLabels: readonly number[], trainCounts?: readonly number[]): Baseline {
  const support = classes.map(() => 0);
  for (const l of evalLabels) support[l] = (support[l] ?? 0) + 1;
  const counts = trainCounts?.some((c) => c > 0) ? trainCounts : support;
  let maj = 0;
  for (let j = 1; j < classes.length; j++) if ((counts[j] ?? 0) > (counts[maj] ?? 0)) maj = j;
  const n = evalLabels.length;
  const hits = support[maj] ?? 0;
  const precision = n ? hits / n : 0;
  const f1 = hits ? (2 * precision) / (precision + 1) : 0; // recall of the majority class is 1
  const present = support.filter((s) => s > 0).length + (hits === 0 ? 1 : 0);
  return { className: classes[maj] ?? '', accuracy: n ? hits / n : 0, macroF1: present ? f1 / present : 0 };
}

/** Whether `m` clearly beats `b` (BASELINE_MARGIN), and the warning to show when it does not. */
export function judgeBaseline(m: { accuracy: number; macroF1: number }, b: Baseline): BaselineVerdict {
  const accGain = m.accuracy - b.accuracy;
  const f1Gain = m.macroF1 - b.macroF1;
  const clearlyBetter = accGain >= BASELINE_MARGIN.accuracy - 1e-12 && f1Gain >= BASELINE_MARGIN.macroF1 - 1e-12;
  if (clearlyBetter) return { clearlyBetter, warning: null };
  const lead =
    accGain < 0
      ? `This model is worse than always answering '${b.className}' (${pctText(b.accuracy)} accuracy)`
      : `This model is no better than always answering '${b.className}' (${pctText(b.accuracy)} accuracy)`;
  const why =
    accGain < BASELINE_MARGIN.accuracy
      ? `its accuracy is ${pctText(m.accuracy)}, needs at least ${pctText(b.accuracy + BASELINE_MARGIN.accuracy)}`
      : `its macro-F1 is ${pctText(m.macroF1)} vs ${pctText(b.macroF1)} for the baseline, needs ${(BASELINE_MARGIN.macroF1 * 100).toFixed(0)} points more`;
  return { clearlyBetter, warning: `${lead}: ${why}.` };
}

// ------------------------------------------------------------------ per-class scores

/** Precision, recall and F1 of one class, and how many evaluated images truly are that class. */
export interface ClassScores {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/**
 * Accuracy, per-class scores and macro F1 of a confusion matrix (confusion[true][pred], in `classes` order).
 * Macro F1 averages the classes present in the split or predicted (an absent class would count as 0).
 * The evaluator scores a run with it, and the review loop scores the production model on a retrain run's split.
 */
export function confusionScores(
  classes: readonly string[],
  confusion: readonly (readonly number[])[],
): { count: number; accuracy: number; macroF1: number; perClass: Record<string, ClassScores> } {
  const perClass: Record<string, ClassScores> = {};
  let count = 0;
  let correct = 0;
  let f1Sum = 0;
  let f1Count = 0;
  classes.forEach((c, j) => {
    const row = confusion[j] ?? [];
    const tp = row[j] ?? 0;
    const support = row.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + (r[j] ?? 0), 0);
    const precision = predicted ? tp / predicted : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[c] = { precision, recall, f1, support };
    count += support;
    correct += tp;
    if (support > 0 || predicted > 0) {
      f1Sum += f1;
      f1Count++;
    }
  });
  return { count, accuracy: count ? correct / count : 0, macroF1: f1Count ? f1Sum / f1Count : 0, perClass };
}

/**
 * The same scores from (true, predicted) class-name pairs; a predicted name outside `classes` (a model trained on
 * other classes) becomes an extra column, so it counts as wrong and against precision, never as a match.
 */
export function labelScores(
  classes: readonly string[],
  pairs: readonly { trueLabel: string; predLabel: string }[],
): { classes: string[]; count: number; accuracy: number; macroF1: number; perClass: Record<string, ClassScores> } {
  const all = [...classes];
  for (const p of pairs) {
    if (!all.includes(p.trueLabel)) all.push(p.trueLabel);
    if (!all.includes(p.predLabel)) all.push(p.predLabel);
  }
  const confusion = all.map(() => new Array<number>(all.length).fill(0));
  for (const p of pairs) (confusion[all.indexOf(p.trueLabel)] as number[])[all.indexOf(p.predLabel)]!++;
  return { classes: all, ...confusionScores(all, confusion) };
}

// ------------------------------------------------------------------ operating point (defect vs good)

export const OPERATING_MODES = ['argmax', 'defect-recall', 'false-alarm'] as const;
export type OperatingMode = (typeof OPERATING_MODES)[number];

/** Threshold above every defect score (scores are ≤ 1): nothing is flagged. */
export const NEVER_FLAG = 1 + 1e-9;

/** The rule an exported model applies; absent = plain argmax. */
export interface DecisionRule {
  goodClass: string;
  /** On the defect score 1 − p(good); score ≥ threshold → the most probable defect class, else good. */
  threshold: number;
  mode: Exclude<OperatingMode, 'argmax'>;
  target: number;
}

export const defectScore = (probs: ArrayLike<number>, goodIndex: number): number => 1 - (probs[goodIndex] ?? 0);

/**
 * THE decision rule. No threshold (or no good class): the most probable class. Otherwise
 * defect score = 1 − p(good); score ≥ threshold → the most probable defect class, else good.
 */
export function decideClass(probs: ArrayLike<number>, goodIndex: number, threshold: number | null | undefined): number {
  const k = probs.length;
  const useRule = threshold !== null && threshold !== undefined && goodIndex >= 0 && goodIndex < k && k > 1;
  if (useRule && defectScore(probs, goodIndex) < threshold) return goodIndex;
  let arg = -1;
  for (let j = 0; j < k; j++) {
    if (useRule && j === goodIndex) continue;
    if (arg < 0 || (probs[j] as number) > (probs[arg] as number)) arg = j;
  }
  return Math.max(arg, 0);
}

/**
 * The threshold that meets `target`: 'defect-recall' → the highest threshold catching at least that share of
 * the defects (fewest false alarms); 'false-alarm' → the lowest threshold flagging at most that share of good
 * parts (most defects caught). Candidates are the observed scores. Null when the split has no defects
 * ('defect-recall') — the target cannot be measured.
 */
export function thresholdFor(scores: readonly number[], isDefect: readonly boolean[], mode: Exclude<OperatingMode, 'argmax'>, target: number): number | null {
  const P = isDefect.filter(Boolean).length;
  const N = isDefect.length - P;
  const order = scores.map((_s, i) => i).sort((a, b) => (scores[b] as number) - (scores[a] as number));
  let tp = 0;
  let fp = 0;
  let best: number | null = mode === 'false-alarm' ? NEVER_FLAG : null;
  if (mode === 'defect-recall' && P === 0) return null;
  for (let k = 0; k < order.length; ) {
    const s = scores[order[k] as number] as number;
    while (k < order.length && scores[order[k] as number] === s) {
      if (isDefect[order[k] as number]) tp++;
      else fp++;
      k++;
    }
    if (mode === 'defect-recall' && tp / P >= target - 1e-12) return s;
    if (mode === 'false-alarm') {
      if ((N ? fp / N : 0) <= target + 1e-12) best = s;
      else break;
    }
  }
  return best;
}

/** Defects caught/missed and good parts passed/flagged, counted as the inspection line sees them. */
export interface BinaryConfusion {
  caught: number;
  missed: number;
  passed: number;
  flagged: number;
}

/** Multi-class and binary confusion of `rows` (per-item probabilities) under the rule at `threshold`. */
export function confusionAt(
  rows: readonly ArrayLike<number>[],
  labels: readonly number[],
  numClasses: number,
  goodIndex: number,
  threshold: number | null,
): { confusion: number[][]; binary: BinaryConfusion; predicted: number[] } {
  const confusion = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  const binary: BinaryConfusion = { caught: 0, missed: 0, passed: 0, flagged: 0 };
  const predicted: number[] = [];
  rows.forEach((probs, i) => {
    const t = labels[i] as number;
    const p = decideClass(probs, goodIndex, threshold);
    predicted.push(p);
    (confusion[t] as number[])[p]!++;
    if (goodIndex < 0) return;
    if (t === goodIndex) binary[p === goodIndex ? 'passed' : 'flagged']++;
    else binary[p === goodIndex ? 'missed' : 'caught']++;
  });
  return { confusion, binary, predicted };
}

/** What the evaluation chose: the rule plus how it scores on the evaluated split. */
export interface OperatingPoint extends DecisionRule {
  binary: BinaryConfusion;
  /** caught / defects */
  defectRecall: number;
  /** flagged / good */
  falseAlarmRate: number;
}

export function binaryRates(b: BinaryConfusion): { defectRecall: number; falseAlarmRate: number } {
  const d = b.caught + b.missed;
  const g = b.passed + b.flagged;
  return { defectRecall: d ? b.caught / d : 0, falseAlarmRate: g ? b.flagged / g : 0 };
}
