import { describe, expect, it } from 'vitest';
import { cellItems, metricsFromRun, parseMetrics } from '../src/runs/metrics.ts';

const raw = {
  accuracy: 0.75,
  macroF1: 0.7,
  classes: ['good', 'scratch'],
  perClass: {
    good: { precision: 0.8, recall: 0.67, f1: 0.73, support: 3 },
    scratch: { precision: 0.67, recall: 0.8, f1: 0.73, support: 1 },
  },
  confusion: [
    [2, 1],
    [0, 1],
  ],
  cells: { good: { good: ['a', 'b'], scratch: ['c'] }, scratch: { scratch: ['d'] } },
  predictions: [
    { id: 'a', trueLabel: 'good', predLabel: 'good', confidence: 0.9 },
    { id: 'b', trueLabel: 'good', predLabel: 'good', confidence: 0.6 },
    { id: 'c', trueLabel: 'good', predLabel: 'scratch', confidence: 0.55 },
    { id: 'd', trueLabel: 'scratch', predLabel: 'scratch', confidence: 0.99 },
  ],
  roc: { points: [{ fpr: 0, tpr: 0 }, [0.5, 1], { fpr: 1, tpr: 1 }], auroc: 0.9, threshold: 0.42 },
};

describe('evaluation metrics for the report', () => {
  it('parses the evaluate node metrics, ROC points in either shape', () => {
    const m = parseMetrics(raw);
    expect(m?.accuracy).toBe(0.75);
    expect(m?.classes).toEqual(['good', 'scratch']);
    expect(m?.perClass.good?.support).toBe(3);
    expect(m?.roc?.points).toEqual([
      { fpr: 0, tpr: 0, threshold: undefined },
      { fpr: 0.5, tpr: 1 },
      { fpr: 1, tpr: 1, threshold: undefined },
    ]);
    expect(m?.roc?.threshold).toBe(0.42);
  });

  it('reads the baseline from full metrics or a bare summary and judges it with the engine rule', () => {
    const full = parseMetrics({ ...raw, baseline: { className: 'good', accuracy: 0.75, macroF1: 0.43 } });
    expect(full?.baseline).toEqual({ className: 'good', accuracy: 0.75, macroF1: 0.43 });
    expect(full?.verdict?.clearlyBetter).toBe(false);
    expect(full?.verdict?.warning).toContain("no better than always answering 'good' (75.0 % accuracy)");
    const summary = parseMetrics({ accuracy: 0.95, macroF1: 0.9, baselineClass: 'free', baselineAccuracy: 0.71, baselineMacroF1: 0.14 });
    expect(summary?.baseline?.className).toBe('free');
    expect(summary?.verdict).toEqual({ clearlyBetter: true, warning: null });
    expect(parseMetrics(raw)?.baseline).toBeNull(); // runs from before the baseline existed: no warning, no crash
  });

  it('keeps per-image probabilities and the evaluated operating point', () => {
    const op = { goodClass: 'good', threshold: 0.3, mode: 'defect-recall', target: 0.99, binary: { caught: 1, missed: 0, passed: 2, flagged: 1 }, defectRecall: 1, falseAlarmRate: 1 / 3 };
    const m = parseMetrics({ ...raw, operatingPoint: op, predictions: [{ id: 'a', trueLabel: 'good', predLabel: 'good', confidence: 0.9, probs: [0.9, 0.1] }] });
    expect(m?.operatingPoint).toMatchObject({ threshold: 0.3, mode: 'defect-recall' });
    expect(m?.predictions[0]?.probs).toEqual([0.9, 0.1]);
  });

  it('returns null for things that are not metrics, and finds nested ones', () => {
    expect(parseMetrics(null)).toBeNull();
    expect(parseMetrics({ items: 3 })).toBeNull();
    expect(parseMetrics({ metrics: raw })?.accuracy).toBe(0.75);
    expect(metricsFromRun(null, [undefined, { epochs: 3 }, raw])?.macroF1).toBe(0.7);
  });

  it('lists a cell’s images with their predictions; a row shows misclassified first', () => {
    const m = parseMetrics(raw);
    if (!m) throw new Error('metrics expected');
    expect(cellItems(m, 'good', 'scratch').map((p) => p.id)).toEqual(['c']);
    // Within a cell, least confident first.
    expect(cellItems(m, 'good', 'good').map((p) => p.id)).toEqual(['b', 'a']);
    expect(cellItems(m, 'good', null).map((p) => p.id)).toEqual(['c', 'b', 'a']);
    expect(cellItems(m, 'scratch', 'good')).toEqual([]);
  });

  it('falls back to the predictions list when cells carry no ids', () => {
    const m = parseMetrics({ ...raw, cells: undefined });
    if (!m) throw new Error('metrics expected');
    expect(cellItems(m, 'good', 'scratch').map((p) => p.id)).toEqual(['c']);
  });
});
