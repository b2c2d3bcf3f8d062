import { describe, expect, it } from 'vitest';
import { detectGoodClass, evaluateClassifier, rocCurve } from '../../src/model/evaluate.ts';

const classes = ['crack', 'good', 'pit'];
const items = [
  { id: 'a', label: 0 },
  { id: 'b', label: 0 },
  { id: 'c', label: 1 },
  { id: 'd', label: 1 },
  { id: 'e', label: 2 },
  { id: 'f', label: 2 },
];
// b is a crack predicted as pit; f is a pit predicted as good.
const probs = [
  [0.8, 0.1, 0.1],
  [0.2, 0.1, 0.7],
  [0.1, 0.8, 0.1],
  [0.05, 0.9, 0.05],
  [0.1, 0.2, 0.7],
  [0.1, 0.6, 0.3],
];

describe('evaluateClassifier', () => {
  it('computes accuracy, per-class scores, macro F1 and a confusion matrix with item ids', async () => {
    const m = await evaluateClassifier({ predictProbs: () => probs, items, classes });
    expect(m.accuracy).toBeCloseTo(4 / 6);
    expect(m.confusion).toEqual([
      [1, 0, 1],
      [0, 2, 0],
      [0, 1, 1],
    ]);
    expect(m.cells.crack?.pit).toEqual(['b']);
    expect(m.cells.pit?.good).toEqual(['f']);
    expect(m.perClass.good).toEqual({ precision: 2 / 3, recall: 1, f1: 0.8, support: 2 });
    expect(m.perClass.crack?.precision).toBe(1);
    expect(m.perClass.crack?.recall).toBe(0.5);
    const f1s = Object.values(m.perClass).map((c) => c.f1);
    expect(m.macroF1).toBeCloseTo(f1s.reduce((a, b) => a + b, 0) / 3);
    expect(m.predictions[1]).toMatchObject({ id: 'b', trueLabel: 'crack', predLabel: 'pit', confidence: 0.7 });
  });

  it('adds a defect-vs-good ROC with AUROC and a Youden threshold when a good class exists', async () => {
    const m = await evaluateClassifier({ predictProbs: () => probs, items, classes });
    expect(m.roc?.goodClass).toBe('good');
    // defect score = 1 - p(good): defects 0.9, 0.9, 0.8, 0.4 vs good 0.2, 0.1 → perfectly separated
    expect(m.roc?.auroc).toBeCloseTo(1);
    expect(m.roc?.tpr).toBe(1);
    expect(m.roc?.fpr).toBe(0);
    expect(m.roc?.threshold).toBeCloseTo(0.4);
    expect(m.roc?.positives).toBe(4);
    expect(m.roc?.points[0]).toMatchObject({ fpr: 0, tpr: 0 });
    expect(m.roc?.points.at(-1)).toMatchObject({ fpr: 1, tpr: 1 });
  });

  it('has no ROC without a good class, and rejects an unknown goodClass by name', async () => {
    const m = await evaluateClassifier({ predictProbs: () => probs, items, classes: ['crack', 'dent', 'pit'] });
    expect(m.roc).toBeNull();
    expect(() => detectGoodClass(classes, 'fine')).toThrow(/goodClass "fine"/);
    expect(detectGoodClass(['OK', 'scratch'])).toBe('OK');
  });

  it('AUROC of a random-order score is 0.5 and ties count half', () => {
    expect(rocCurve([0.5, 0.5], [true, false]).auroc).toBeCloseTo(0.5);
    expect(rocCurve([0.9, 0.1, 0.8, 0.2], [true, false, false, true]).auroc).toBeCloseTo(0.75);
  });
});
