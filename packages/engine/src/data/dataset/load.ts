import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DATASET_DEFAULTS } from '../../constants.ts';
import { DatasetError, PathOutsideRootError, throwIfAborted } from '../errors.ts';
import { resolveInsideRoot } from '../paths.ts';
import { findDuplicates, inspectFiles } from './inspect.ts';
import { detectLayout, scanCsv, scanFolders, scanMvtec } from './scan.ts';
import { seededOrder, splitClass } from './split.ts';
import {
  type DatasetItem,
  type DatasetLayout,
  type DatasetManifest,
  type DatasetWarning,
  type LoadDatasetOptions,
  MAX_WARNING_FILES,
  type ScanResult,
  type SplitCounts,
} from './types.ts';

export { DATASET_DEFAULTS };

const IMBALANCE_RATIO = 3;
const SMALL_CLASS = 10;

function checkRatio(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 0.5) {
    throw new RangeError(`loadDataset: ${name} must be between 0 and 0.5, got ${value}`);
  }
  return value;
}

async function resolveDatasetLocation(
  root: string,
  userPath: string,
  layout: LoadDatasetOptions['layout'],
  csvFile: string,
): Promise<{ dir: string; layout: DatasetLayout; csvPath?: string }> {
  let target: string;
  try {
    target = resolveInsideRoot(root, userPath);
  } catch (err) {
    if (err instanceof PathOutsideRootError) {
      throw new DatasetError('path_outside_root', `Dataset path "${userPath}" is outside the datasets root ${path.resolve(root)}`, {
        path: userPath,
      }, { cause: err });
    }
    throw err;
  }
  const stat = await fs.stat(target).catch(() => null);
  if (stat?.isFile() && target.toLowerCase().endsWith('.csv') && (!layout || layout === 'auto' || layout === 'csv')) {
    return { dir: path.dirname(target), layout: 'csv', csvPath: target };
  }
  if (!stat?.isDirectory()) {
    throw new DatasetError('dataset_not_found', `Dataset folder "${userPath}" not found under ${path.resolve(root)}`, {
      path: userPath,
    });
  }
  const chosen = !layout || layout === 'auto' ? await detectLayout(target, csvFile) : layout;
  if (chosen !== 'csv') return { dir: target, layout: chosen };
  let csvPath: string;
  try {
    csvPath = resolveInsideRoot(target, path.resolve(target, csvFile));
  } catch (err) {
    const message = `CSV file "${csvFile}" is outside the dataset folder "${userPath}"`;
    throw new DatasetError('path_outside_root', message, { file: csvFile }, { cause: err });
  }
  return { dir: target, layout: 'csv', csvPath };
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

function capFiles(ids: string[]): string[] {
  return ids.slice(0, MAX_WARNING_FILES);
}

/**
 * Scans a dataset under `root`, checks its files, splits it (stratified, seeded) and returns a
 * manifest with per-class counts, warnings and a signature usable as a cache key.
 * Throws DatasetError for a dataset that cannot be used at all; problems with single files are warnings.
 */
export async function loadDataset(options: LoadDatasetOptions): Promise<DatasetManifest> {
  const csvFile = options.csvFile ?? DATASET_DEFAULTS.csvFile;
  const valRatio = checkRatio('valRatio', options.valRatio ?? DATASET_DEFAULTS.valRatio);
  const testRatio = checkRatio('testRatio', options.testRatio ?? DATASET_DEFAULTS.testRatio);
  const seed = options.seed ?? DATASET_DEFAULTS.seed;
  const maxPerClass = Math.max(0, Math.floor(options.maxPerClass ?? DATASET_DEFAULTS.maxPerClass));
  const { signal } = options;

  const location = await resolveDatasetLocation(options.root, options.path, options.layout, csvFile);
  const { dir, layout } = location;
  options.onProgress?.('scan', 0, 1);
  let scan: ScanResult;
  if (layout === 'mvtec') scan = await scanMvtec(options.root, dir, signal);
  else if (layout === 'csv') scan = await scanCsv(dir, location.csvPath as string);
  else scan = await scanFolders(options.root, dir, signal);
  options.onProgress?.('scan', 1, 1);
  throwIfAborted(signal);
  const warnings: DatasetWarning[] = [...scan.warnings];

  if (scan.files.length === 0) {
    throw new DatasetError(
      'dataset_empty',
      layout === 'folders'
        ? `Dataset "${options.path}" contains no images: expected one subfolder per class holding image files`
        : `Dataset "${options.path}" (${layout} layout) contains no images`,
      { path: options.path },
    );
  }

  // Optional cap per class, chosen by seed so the same subset comes back every time.
  let files = scan.files;
  if (maxPerClass > 0) {
    const byClass = groupBy(files, (f) => f.className);
    files = [...byClass.entries()].flatMap(([name, list]) => seededOrder(list, seed, `max:${name}`).slice(0, maxPerClass));
  }

  const check = options.checkImages ?? true;
  const facts = await inspectFiles(files, {
    check: check === true ? 'decode' : check === false ? 'none' : check,
    maxPixels: options.maxPixels,
    signal,
    onProgress: (done, total) => options.onProgress?.('check', done, total),
  });
  const missing = facts.filter((f) => f.missing);
  if (missing.length > 0) {
    warnings.push({
      code: 'missing_files',
      message: `${missing.length} file(s) disappeared while loading and were skipped`,
      files: capFiles(missing.map((f) => f.file.id)),
    });
  }
  const unreadable = facts.filter((f) => f.unreadable);
  if (unreadable.length > 0) {
    warnings.push({
      code: 'unreadable_files',
      message: `${unreadable.length} file(s) are not readable images and were skipped: ${unreadable
        .slice(0, 5)
        .map((f) => `${f.file.id} (${f.unreadable})`)
        .join('; ')}${unreadable.length > 5 ? '; …' : ''}`,
      files: capFiles(unreadable.map((f) => f.file.id)),
    });
  }
  const good = facts.filter((f) => !f.missing && !f.unreadable).sort((a, b) => (a.file.id < b.file.id ? -1 : 1));
  if (good.length === 0) {
    throw new DatasetError('dataset_empty', `Dataset "${options.path}" has no readable images`, { path: options.path });
  }

  const presentClasses = [...new Set(good.map((f) => f.file.className))].sort();
  const empty = scan.declaredClasses.filter((c) => !presentClasses.includes(c));
  if (empty.length > 0) {
    warnings.push({
      code: 'empty_class',
      message: `Class folder(s) without readable images were left out: ${empty.join(', ')}`,
    });
  }
  if (presentClasses.length < 2) {
    throw new DatasetError(
      'too_few_classes',
      `Dataset "${options.path}" has ${presentClasses.length} class with images (${presentClasses.join(', ')}); a classifier needs at least 2`,
      { path: options.path },
    );
  }

  // Stratified split, class by class.
  const classes = presentClasses;
  const labelOf = new Map(classes.map((c, i) => [c, i]));
  const byClass = groupBy(good, (f) => f.file.className);
  const splitOf = new Map<string, DatasetItem['split']>();
  for (const [, list] of byClass) {
    for (const [id, split] of splitClass(
      list.map((f) => f.file),
      { valRatio, testRatio, seed },
    )) {
      splitOf.set(id, split);
    }
  }
  const items: DatasetItem[] = good.map((f) => ({
    id: f.file.id,
    path: f.file.path,
    label: labelOf.get(f.file.className) as number,
    split: splitOf.get(f.file.id) ?? 'train',
  }));

  const counts: Record<string, SplitCounts> = {};
  for (const c of classes) counts[c] = { train: 0, val: 0, test: 0, total: 0 };
  for (const item of items) {
    const c = counts[classes[item.label] as string] as SplitCounts;
    c[item.split]++;
    c.total++;
  }

  warnings.push(...classWarnings(classes, counts, valRatio, testRatio));
  const imageStats = { sizes: {} as Record<string, number>, channels: {} as Record<string, number> };
  for (const f of good) {
    if (!f.header) continue;
    const size = `${f.header.width}x${f.header.height}`;
    imageStats.sizes[size] = (imageStats.sizes[size] ?? 0) + 1;
    const ch = String(f.header.channels);
    imageStats.channels[ch] = (imageStats.channels[ch] ?? 0) + 1;
  }
  warnings.push(...mixWarnings(imageStats));
  if (options.checkDuplicates ?? true) {
    const groups = await findDuplicates(good, signal);
    warnings.push(...duplicateWarnings(groups.map((g) => g.map((f) => f.file.id)), new Map(items.map((i) => [i.id, i]))));
  }

  const factsById = new Map(good.map((f) => [f.file.id, f]));
  const signature = createHash('sha1')
    .update(
      JSON.stringify({
        v: 1,
        layout,
        classes,
        items: items.map((i) => {
          const f = factsById.get(i.id);
          return [i.id, f?.bytes ?? 0, f?.mtimeMs ?? 0, i.label, i.split];
        }),
      }),
    )
    .digest('hex');

  return {
    root: dir,
    layout,
    classes,
    items,
    counts,
    warnings,
    imageStats,
    split: { valRatio, testRatio, seed, maxPerClass },
    signature,
  };
}

function classWarnings(
  classes: string[],
  counts: Record<string, SplitCounts>,
  valRatio: number,
  testRatio: number,
): DatasetWarning[] {
  const warnings: DatasetWarning[] = [];
  const totals = classes.map((c) => ({ c, n: counts[c]?.total ?? 0 }));
  const max = totals.reduce((a, b) => (b.n > a.n ? b : a));
  const min = totals.reduce((a, b) => (b.n < a.n ? b : a));
  if (min.n > 0 && max.n / min.n > IMBALANCE_RATIO) {
    warnings.push({
      code: 'imbalance',
      message: `Classes are imbalanced ${(max.n / min.n).toFixed(1)}:1 (${max.c}: ${max.n} images, ${min.c}: ${min.n}); training adds augmented views of small classes, and the report compares the model with always answering "${max.c}"; more images of the small classes help most`,
    });
  }
  const small = totals.filter((t) => t.n < SMALL_CLASS);
  if (small.length > 0) {
    warnings.push({
      code: 'small_class',
      message: `Class(es) with fewer than ${SMALL_CLASS} images: ${small.map((t) => `${t.c} (${t.n})`).join(', ')}`,
    });
  }
  const unsplit = totals.filter((t) => t.n < 3 && (valRatio > 0 || testRatio > 0));
  if (unsplit.length > 0) {
    warnings.push({
      code: 'no_split_possible',
      message: `Class(es) with fewer than 3 images have no val/test images: ${unsplit.map((t) => t.c).join(', ')}`,
    });
  }
  return warnings;
}

function mixWarnings(stats: { sizes: Record<string, number>; channels: Record<string, number> }): DatasetWarning[] {
  const warnings: DatasetWarning[] = [];
  const describe = (rec: Record<string, number>) =>
    Object.entries(rec)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([k, n]) => `${k} ×${n}`)
      .join(', ');
  if (Object.keys(stats.sizes).length > 1) {
    warnings.push({
      code: 'mixed_sizes',
      message: `Images have ${Object.keys(stats.sizes).length} different sizes (${describe(stats.sizes)}); all are resized to the model input size`,
    });
  }
  if (Object.keys(stats.channels).length > 1) {
    warnings.push({
      code: 'mixed_channels',
      message: `Images have different channel counts (${describe(stats.channels)}); all are converted to RGB`,
    });
  }
  return warnings;
}

function duplicateWarnings(groups: string[][], itemsById: Map<string, DatasetItem>): DatasetWarning[] {
  const warnings: DatasetWarning[] = [];
  const across: string[][] = [];
  const leaks: string[][] = [];
  const within: string[][] = [];
  for (const ids of groups) {
    const members = ids.map((id) => itemsById.get(id) as DatasetItem);
    if (new Set(members.map((m) => m.label)).size > 1) across.push(ids);
    else if (new Set(members.map((m) => m.split)).size > 1) leaks.push(ids);
    else within.push(ids);
  }
  const show = (gs: string[][]) =>
    gs
      .slice(0, 5)
      .map((g) => g.join(' = '))
      .join('; ');
  if (across.length > 0) {
    warnings.push({
      code: 'duplicates_across_classes',
      message: `${across.length} identical file group(s) carry different labels (the labels contradict each other): ${show(across)}`,
      files: capFiles(across.flat()),
    });
  }
  if (leaks.length > 0) {
    warnings.push({
      code: 'duplicates_across_splits',
      message: `${leaks.length} identical file group(s) span train/val/test, which inflates evaluation scores: ${show(leaks)}`,
      files: capFiles(leaks.flat()),
    });
  }
  if (within.length > 0) {
    warnings.push({
      code: 'duplicate_files',
      message: `${within.length} group(s) of identical files within a class: ${show(within)}`,
      files: capFiles(within.flat()),
    });
  }
  return warnings;
}
