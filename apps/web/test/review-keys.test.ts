/** The review page's keys: one per class (1–9, in button order), Enter = the prediction, S/→ skip, ← back, X discard. */
import { describe, expect, it } from 'vitest';
import { reviewKey } from '../src/reviews/keys.ts';

describe('review keys', () => {
  const classes = ['good', 'scratch', 'dent'];
  it('maps digits to the class on that button and nothing past the last class', () => {
    expect(reviewKey('1', classes, 'good')).toEqual({ kind: 'label', label: 'good' });
    expect(reviewKey('3', classes, 'good')).toEqual({ kind: 'label', label: 'dent' });
    expect(reviewKey('4', classes, 'good')).toBeNull();
    expect(reviewKey('0', classes, 'good')).toBeNull();
  });
  it('Enter confirms the predicted class; S, →, ←, X skip, skip, back, discard', () => {
    expect(reviewKey('Enter', classes, 'scratch')).toEqual({ kind: 'label', label: 'scratch' });
    expect(reviewKey('Enter', classes, null)).toBeNull();
    expect(['s', 'S', 'ArrowRight', 'ArrowLeft', 'x', 'X', 'q'].map((k) => reviewKey(k, classes, 'good')?.kind ?? null)).toEqual([
      'skip',
      'skip',
      'skip',
      'back',
      'discard',
      'discard',
      null,
    ]);
  });
});
