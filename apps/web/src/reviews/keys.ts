/**
 * The review page's keyboard: 1–9 pick the class on that button, Enter confirms the predicted class, S or → skips,
 * ← goes back, X discards ("not a part / unusable"). Pure, so the mapping is tested without a browser.
 */
export type ReviewAction = { kind: 'label'; label: string } | { kind: 'skip' } | { kind: 'back' } | { kind: 'discard' };

export function reviewKey(key: string, classes: readonly string[], predicted: string | null): ReviewAction | null {
  if (/^[1-9]$/.test(key)) {
    const label = classes[Number(key) - 1];
    return label === undefined ? null : { kind: 'label', label };
  }
  switch (key) {
    case 'Enter':
      return predicted === null ? null : { kind: 'label', label: predicted };
    case 's':
    case 'S':
    case 'ArrowRight':
      return { kind: 'skip' };
    case 'ArrowLeft':
      return { kind: 'back' };
    case 'x':
    case 'X':
      return { kind: 'discard' };
    default:
      return null;
  }
}
