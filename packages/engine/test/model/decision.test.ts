import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  BASELINE_MARGIN,
  NEVER_FLAG,
  confusionAt,
  decideClass,
  judgeBaseline,
  labelScores,
  majorityBaseline,
  thresholdFor,
} from '../../src/model/decision.ts';
import { evaluateClassifier } from '../../src/model/evaluate.ts';

describe('majority baseline', () => {
  it('takes the majority class from the training split and scores it on the evaluated split', () => {
    // Train: good 7, crack 2, pit 1 → good. Evaluated: good 3 of 5.
    const b = majorityBaseline(['crack', 'good', 'pit'], [1, 1, 1, 0, 2], [2, 7, 1]);
    expect(b.className).toBe('good');
    expect(b.accuracy).toBeCloseTo(3 / 5);
    // F1(good) = 2·0.6·1/1.6 = 0.75, averaged over 3 present classes.
    expect(b.macroF1).toBeCloseTo(0.75 / 3);
  });

  it('counts an absent majority class as one more zero-F1 class, and falls back to the split counts', () => {
    const absent = majorityBaseline(['a', 'b'], [1, 1], [5, 1]);
    expect(absent).toEqual({ className: 'a', accuracy: 0, macroF1: 0 });
    expect(majorityBaseline(['a', 'b'], [1, 1, 0]).className).toBe('b');
  });

  it('is clearly beaten only with both margins; the warning names the class and its accuracy', () => {
    const b = { className: 'good', accuracy: 0.71, macroF1: 0.14 };
    expect(judgeBaseline({ accuracy: 0.95, macroF1: 0.9 }, b)).toEqual({ clearlyBetter: true, warning: null });
    const worse = judgeBaseline({ accuracy: 0.52, macroF1: 0.49 }, b);
    expect(worse.clearlyBetter).toBe(false);
    expect(worse.warning).toContain("worse than always answering 'good' (71.0 % accuracy)");
    const tie = judgeBaseline({ accuracy: 0.71 + BASELINE_MARGIN.accuracy / 2, macroF1: 0.9 }, b);
    expect(tie.clearlyBetter).toBe(false);
    expect(tie.warning).toContain("no better than always answering 'good'");
    expect(judgeBaseline({ accuracy: 0.9, macroF1: 0.14 + BASELINE_MARGIN.macroF1 / 2 }, b).warning).toContain('macro-F1');
  });
});

describe('decision rule and threshold', () => {
  // classes: crack, good, pit (good = 1)
  it('flags when 1 − p(good) ≥ threshold, then answers the most probable defect class', () => {
    expect(decideClass([0.3, 0.45, 0.25], 1, null)).toBe(1); // argmax
    expect(decideClass([0.3, 0.45, 0.25], 1, 0.5)).toBe(0); // score 0.55 ≥ 0.5 → crack beats pit
    expect(decideClass([0.3, 0.45, 0.25], 1, 0.55)).toBe(0); // equal counts as flagged
    expect(decideClass([0.3, 0.45, 0.25], 1, 0.6)).toBe(1);
    expect(decideClass([0.1, 0.1, 0.8], 1, 0.95)).toBe(1); // even a confident pit passes a strict threshold
    expect(decideClass([0.1, 0.1, 0.8], 1, NEVER_FLAG)).toBe(1);
    expect(decideClass([0.1, 0.1, 0.8], -1, 0.1)).toBe(2); // no good class: argmax
  });

  const scores = [0.9, 0.8, 0.6, 0.3, 0.7, 0.2, 0.1, 0.05]; // first four defects, last four good
  const isDefect = [true, true, true, true, false, false, false, false];

  it('defect-recall picks the highest threshold reaching the target', () => {
    expect(thresholdFor(scores, isDefect, 'defect-recall', 0.5)).toBe(0.8);
    expect(thresholdFor(scores, isDefect, 'defect-recall', 0.75)).toBe(0.6);
    expect(thresholdFor(scores, isDefect, 'defect-recall', 0.99)).toBe(0.3);
    expect(thresholdFor(scores, [false, false], 'defect-recall', 0.9)).toBeNull();
  });

  it('false-alarm picks the lowest threshold within the allowed share of good parts flagged', () => {
    expect(thresholdFor(scores, isDefect, 'false-alarm', 0)).toBe(0.8); // 0.7 would flag a good part
    expect(thresholdFor(scores, isDefect, 'false-alarm', 0.25)).toBe(0.3);
    expect(thresholdFor(scores, isDefect, 'false-alarm', 0.5)).toBe(0.2);
    expect(thresholdFor([0.9, 0.1], [false, true], 'false-alarm', 0)).toBe(NEVER_FLAG);
  });

  it('counts caught/missed/passed/flagged and the multi-class confusion at a threshold', () => {
    const rows = [
      [0.5, 0.4, 0.1], // crack, score 0.6
      [0.1, 0.7, 0.2], // pit, score 0.3
      [0.2, 0.6, 0.2], // good, score 0.4
      [0.05, 0.9, 0.05], // good, score 0.1
    ];
    const labels = [0, 2, 1, 1];
    const strict = confusionAt(rows, labels, 3, 1, 0.5);
    expect(strict.binary).toEqual({ caught: 1, missed: 1, passed: 2, flagged: 0 });
    const loose = confusionAt(rows, labels, 3, 1, 0.25);
    expect(loose.binary).toEqual({ caught: 2, missed: 0, passed: 1, flagged: 1 });
    // The good part at score 0.4 is flagged; crack and pit tie at 0.2 → the first defect class, crack.
    expect(loose.confusion).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
  });
});

describe('evaluateClassifier with baseline and operating point', () => {
  const classes = ['crack', 'good', 'pit'];
  const items = [0, 2, 1, 1, 1].map((label, i) => ({ id: `i${i}`, label }));
  const probs = [
    [0.5, 0.4, 0.1],
    [0.1, 0.7, 0.2],
    [0.2, 0.6, 0.2],
    [0.05, 0.9, 0.05],
    [0.05, 0.9, 0.05],
  ];

  it('reports the baseline; a model 20 points above it is clearly better', async () => {
    const m = await evaluateClassifier({ predictProbs: () => probs, items, classes, trainCounts: [3, 10, 3] });
    expect(m.baseline).toMatchObject({ className: 'good', accuracy: 0.6 });
    expect(m.accuracy).toBeCloseTo(0.8);
    expect(m.operatingPoint).toBeNull();
    expect(m.baselineVerdict.clearlyBetter).toBe(true);
  });

  it('applies a defect-recall operating point to every prediction and reports the binary confusion', async () => {
    const m = await evaluateClassifier({
      predictProbs: () => probs,
      items,
      classes,
      operatingPoint: { mode: 'defect-recall', target: 1 },
    });
    expect(m.operatingPoint).toMatchObject({ goodClass: 'good', mode: 'defect-recall', target: 1, defectRecall: 1 });
    expect(m.operatingPoint?.threshold).toBeCloseTo(0.3);
    expect(m.operatingPoint?.binary).toEqual({ caught: 2, missed: 0, passed: 2, flagged: 1 });
    expect(m.cells.pit?.pit).toEqual(['i1']);
    expect(m.predictions[2]?.predLabel).toBe('crack');
  });

  it('refuses an operating point without a good class, naming the param', async () => {
    await expect(
      evaluateClassifier({ predictProbs: () => probs, items, classes: ['a', 'b', 'c'], operatingPoint: { mode: 'false-alarm', target: 0.1 } }),
    ).rejects.toThrow(/needs a good class: set goodClass/);
  });

  it('decision.ts stays import-free so the browser can bundle it', () => {
    const src = readFileSync(new URL('../../src/model/decision.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/^\s*import\s/m);
    expect(src).not.toMatch(/require\(/);
  });
});

describe('label scores (the production model on a retrain run\'s split)', () => {
  it('gives accuracy, per-class recall and macro F1 from name pairs, counting a class the model lacks as missed', () => {
    // good 2/2 right, scratch 2 of 3, dent (new: the model cannot answer it) 0 of 1 → predicted good.
    const pairs = [
      { trueLabel: 'good', predLabel: 'good' },
      { trueLabel: 'good', predLabel: 'good' },
      { trueLabel: 'scratch', predLabel: 'scratch' },
      { trueLabel: 'scratch', predLabel: 'scratch' },
      { trueLabel: 'scratch', predLabel: 'good' },
      { trueLabel: 'dent', predLabel: 'good' },
    ];
    const s = labelScores(['dent', 'good', 'scratch'], pairs);
    expect(s.count).toBe(6);
    expect(s.accuracy).toBeCloseTo(4 / 6);
    expect([s.perClass.good?.recall, s.perClass.scratch?.recall, s.perClass.dent?.recall]).toEqual([1, 2 / 3, 0]);
    // F1: good P=2/4 R=1 → 2/3; scratch P=1 R=2/3 → 0.8; dent 0 (present in the split).
    expect(s.macroF1).toBeCloseTo((2 / 3 + 0.8 + 0) / 3);
  });

  it('adds a predicted class outside the split\'s classes as a column (wrong, never a match)', () => {
    const s = labelScores(['good', 'scratch'], [
      { trueLabel: 'good', predLabel: 'stain' },
      { trueLabel: 'scratch', predLabel: 'scratch' },
    ]);
    expect(s.classes).toEqual(['good', 'scratch', 'stain']);
    expect(s.accuracy).toBe(0.5);
    expect(s.perClass.stain).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(s.macroF1).toBeCloseTo((0 + 1 + 0) / 3);
  });

  it('matches the evaluator on the same predictions', async () => {
    const classes = ['good', 'scratch', 'dent'];
    const probs = [[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]];
    const labels = [0, 1, 1, 2, 0];
    const m = await evaluateClassifier({ items: labels.map((label, i) => ({ id: `i${i}`, label })), classes, predictProbs: () => probs });
    const s = labelScores(classes, m.predictions);
    expect([s.accuracy, s.macroF1, s.perClass]).toEqual([m.accuracy, m.macroF1, m.perClass]);
  });
});
