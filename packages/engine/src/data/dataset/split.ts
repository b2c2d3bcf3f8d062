import { hashSeed } from '../rng.ts';
import type { ScannedFile, Split } from './types.ts';

export interface SplitSizes {
  train: number;
  val: number;
  test: number;
}

/**
 * How many of n images go to val and test: round(n × ratio), but at least one val image once a
 * class has >= 3 images (early stopping needs it) and at least one test image from 4 images,
 * whenever the ratio is > 0. Train always keeps at least one image.
 */
export function splitSizes(n: number, valRatio: number, testRatio: number, hasVal = false, hasTest = false): SplitSizes {
  if (n < 3) return { train: n, val: 0, test: 0 };
  let val = Math.round(n * valRatio);
  let test = Math.round(n * testRatio);
  if (valRatio > 0 && val === 0 && !hasVal) val = 1;
  if (testRatio > 0 && test === 0 && !hasTest && n >= 4) test = 1;
  while (val + test > n - 1) {
    if (test >= val && test > 0) test--;
    else val--;
  }
  return { train: n - val - test, val, test };
}

/** Deterministic per-item rank: independent of the other files, so adding a file moves no others. */
export function seededOrder<T extends { id: string }>(items: readonly T[], seed: number, salt: string): T[] {
  const keyed = items.map((item) => ({ item, key: hashSeed(seed, salt, item.id) }));
  keyed.sort((a, b) => a.key - b.key || (a.item.id < b.item.id ? -1 : a.item.id > b.item.id ? 1 : 0));
  return keyed.map((k) => k.item);
}

/**
 * Stratified seeded split of one class. Files with a fixed split keep it; the rest form two pools:
 * `noTest` files (MVTec train/) split train/val, the others split train/val/test, each by the ratios.
 */
export function splitClass(
  files: readonly ScannedFile[],
  opts: { valRatio: number; testRatio: number; seed: number },
): Map<string, Split> {
  const result = new Map<string, Split>();
  for (const f of files) if (f.fixedSplit) result.set(f.id, f.fixedSplit);
  const fixed = [...result.values()];
  const hasVal = fixed.includes('val');
  const hasTest = fixed.includes('test');
  const pools: { files: ScannedFile[]; testRatio: number }[] = [
    { files: files.filter((f) => !f.fixedSplit && f.noTest), testRatio: 0 },
    { files: files.filter((f) => !f.fixedSplit && !f.noTest), testRatio: opts.testRatio },
  ];
  for (const pool of pools) {
    if (pool.files.length === 0) continue;
    const sizes = splitSizes(pool.files.length, opts.valRatio, pool.testRatio, hasVal, hasTest);
    const ordered = seededOrder(pool.files, opts.seed, 'split');
    ordered.forEach((f, i) => {
      result.set(f.id, i < sizes.test ? 'test' : i < sizes.test + sizes.val ? 'val' : 'train');
    });
  }
  return result;
}
