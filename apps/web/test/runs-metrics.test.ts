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
