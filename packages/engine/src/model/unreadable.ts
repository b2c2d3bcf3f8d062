import type { DatasetItem } from '../data/dataset/types.ts';
import type { SkippedImage } from './features.ts';

/**
 * Share of a split's images that may fail to decode at train or evaluate time (the dataset check
 * should have caught them; a file can still change afterwards). Up to it they are skipped with a
 * warning; past it, or when a class loses all its images, the node fails naming them.
 */
export const MAX_UNREADABLE_FRACTION = 0.05;

/** Too many images of a split did not decode (or all of one class). */
export class UnreadableImagesError extends Error {
  readonly code = 'images_unreadable';
  constructor(
    message: string,
    public readonly skipped: SkippedImage[],
  ) {
    super(message);
    this.name = 'UnreadableImagesError';
  }
}

function listFiles(skipped: readonly SkippedImage[], max = 5): string {
  const shown = skipped.slice(0, max).map((s) => `${s.id} (${s.reason})`);
  return `${shown.join('; ')}${skipped.length > max ? `; and ${skipped.length - max} more` : ''}`;
}

/**
 * Warns about the images of `items` that were skipped because they did not decode, and throws
 * UnreadableImagesError when that is more than MAX_UNREADABLE_FRACTION of them (one image is
 * always tolerated) or every image of a class. `what` names the split ("train", "test"…).
 */
export function checkSkippedImages(
  items: readonly DatasetItem[],
  skipped: readonly SkippedImage[] | undefined,
  classes: readonly string[],
  what: string,
  warn: ((message: string) => void) | undefined,
): void {
  if (!skipped?.length) return;
  const gone = new Set(skipped.map((s) => s.id));
  const className = (label: number) => classes[label] ?? `class #${label}`;
  const perClass = new Map<number, { total: number; lost: number }>();
  for (const item of items) {
    const c = perClass.get(item.label) ?? { total: 0, lost: 0 };
    c.total++;
    if (gone.has(item.id)) c.lost++;
    perClass.set(item.label, c);
  }
  const emptied = [...perClass].filter(([, c]) => c.total > 0 && c.lost === c.total).map(([label]) => label);
  if (emptied.length > 0) {
    const names = emptied.map((l) => `"${className(l)}"`).join(', ');
    throw new UnreadableImagesError(
      `every ${what} image of class ${names} failed to decode, so the class cannot be ${what === 'train' ? 'learned' : 'scored'}: ${listFiles(skipped)}`,
      [...skipped],
    );
  }
  const allowed = Math.max(1, Math.floor(MAX_UNREADABLE_FRACTION * items.length));
  if (skipped.length > allowed) {
    throw new UnreadableImagesError(
      `${skipped.length} of ${items.length} ${what} images failed to decode, more than the ${MAX_UNREADABLE_FRACTION * 100} % a run skips: ${listFiles(skipped)}`,
      [...skipped],
    );
  }
  warn?.(`${skipped.length} of ${items.length} ${what} image${items.length === 1 ? '' : 's'} could not be decoded and ${skipped.length === 1 ? 'was' : 'were'} skipped: ${listFiles(skipped)}`);
}
