/**
 * The alarm rules, as pure functions over a window of recent predictions (the evaluator in alarms.ts and the drift
 * bench share them): the share of drifted images, the share of low-confidence answers, and the class-mix distance —
 * total variation between the window's predicted classes and the training set's class mix (0 = same mix, 1 =
 * disjoint). A rule is judged only once the window holds `minPredictions`; a rule without data (no drift scores, no
 * training mix) never fires.
 */
import type { AlarmRule } from '@defectflow/db';

export interface AlarmThresholds {
  /** ALARM_WINDOW: predictions the rates are computed over (the last ones per model). */
  window: number;
  /** ALARM_MIN_PREDICTIONS: no rule is judged on fewer. */
  minPredictions: number;
  /** ALARM_DRIFT_RATE. */
  driftRate: number;
  /** ALARM_LOW_CONFIDENCE_RATE. */
  lowConfidenceRate: number;
  /** ALARM_CLASS_MIX_DISTANCE. */
  classMixDistance: number;
}

export interface Signal {
  label: string;
  lowConfidence: boolean;
  /** null: the model has no drift reference. */
  drifted: boolean | null;
}

export interface RuleResult {
  rule: AlarmRule;
  /** null when the rule has nothing to judge (too few predictions, no drift scores, no training mix). */
  value: number | null;
  threshold: number;
  firing: boolean;
  /** Predictions the value was computed over. */
  window: number;
  message: string;
}

/** Total variation distance between two class distributions given as counts (missing classes count 0). */
export function classMixDistance(a: Record<string, number>, b: Record<string, number>): number {
  const sa = Object.values(a).reduce((x, y) => x + y, 0);
  const sb = Object.values(b).reduce((x, y) => x + y, 0);
  if (sa === 0 || sb === 0) return 0;
  let d = 0;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) d += Math.abs((a[k] ?? 0) / sa - (b[k] ?? 0) / sb);
  return d / 2;
}

const pct = (x: number) => `${(x * 100).toFixed(0)} %`;

/** Every rule's verdict on the window (its last `window` signals). */
export function evaluateRules(signals: readonly Signal[], trainingMix: Record<string, number> | null, t: AlarmThresholds): RuleResult[] {
  const w = signals.slice(-t.window);
  const n = w.length;
  const enough = n >= t.minPredictions;
  const scored = w.filter((s) => s.drifted !== null);
  const drift = enough && scored.length >= t.minPredictions ? scored.filter((s) => s.drifted).length / scored.length : null;
  const low = enough ? w.filter((s) => s.lowConfidence).length / n : null;
  const mix: Record<string, number> = {};
  for (const s of w) mix[s.label] = (mix[s.label] ?? 0) + 1;
  const distance = enough && trainingMix && Object.keys(trainingMix).length ? classMixDistance(mix, trainingMix) : null;
  return [
    {
      rule: 'drift_rate',
      value: drift,
      threshold: t.driftRate,
      firing: drift !== null && drift > t.driftRate,
      window: scored.length,
      message: `${drift === null ? '–' : pct(drift)} of the last ${scored.length} images are drifted (input unlike the training images); alarm above ${pct(t.driftRate)} (ALARM_DRIFT_RATE)`,
    },
    {
      rule: 'low_confidence_rate',
      value: low,
      threshold: t.lowConfidenceRate,
      firing: low !== null && low > t.lowConfidenceRate,
      window: n,
      message: `${low === null ? '–' : pct(low)} of the last ${n} predictions are low-confidence; alarm above ${pct(t.lowConfidenceRate)} (ALARM_LOW_CONFIDENCE_RATE)`,
    },
    {
      rule: 'class_mix',
      value: distance,
      threshold: t.classMixDistance,
      firing: distance !== null && distance > t.classMixDistance,
      window: n,
      message: `the class mix of the last ${n} predictions is ${distance === null ? '–' : distance.toFixed(2)} from the training mix (total variation); alarm above ${t.classMixDistance} (ALARM_CLASS_MIX_DISTANCE)`,
    },
  ];
}
