import fs from 'node:fs/promises';
import path from 'node:path';
import { DatasetError, PathOutsideRootError, throwIfAborted } from '../errors.ts';
import { IMAGE_EXTENSIONS } from '../image-io.ts';
import { resolveInsideRoot, toPosixRelative } from '../paths.ts';
import { parseCsv } from './csv.ts';
import {
  type DatasetLayout,
  type DatasetWarning,
  MAX_WARNING_FILES,
  type ScanResult,
  type ScannedFile,
  type Split,
} from './types.ts';

export function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.includes(path.extname(name).toLowerCase());
}

/** Hidden files, macOS resource forks and archive litter are never dataset content. */
function isJunk(name: string): boolean {
  return name.startsWith('.') || name === '__MACOSX' || name === 'Thumbs.db' || name === 'desktop.ini';
}

async function isDirectory(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isDirectory(), () => false);
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then((s) => s.isFile(), () => false);
}

interface WalkState {
  root: string;
  outside: string[];
  ignored: string[];
  visitedDirs: Set<string>;
  signal?: AbortSignal;
}

/** Lists image files under `dir` recursively. Every entry goes through resolveInsideRoot; escapes are collected, not read. */
async function walkImages(dir: string, state: WalkState): Promise<string[]> {
  throwIfAborted(state.signal);
  const real = await fs.realpath(dir);
  if (state.visitedDirs.has(real)) return []; // symlink loop
  state.visitedDirs.add(real);
  const entries = await fs.readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const out: string[] = [];
  for (const entry of entries) {
    if (isJunk(entry.name)) continue;
    const abs = path.join(dir, entry.name);
    try {
      resolveInsideRoot(state.root, abs);
    } catch (err) {
      if (err instanceof PathOutsideRootError) {
        state.outside.push(abs);
        continue;
      }
      throw err;
    }
    const stat = entry.isSymbolicLink() ? await fs.stat(abs).catch(() => null) : entry;
    if (!stat) continue; // dangling symlink
    if (stat.isDirectory()) out.push(...(await walkImages(abs, state)));
    else if (stat.isFile()) {
      if (isImageFile(entry.name)) out.push(abs);
      else state.ignored.push(abs);
    }
  }
  return out;
}

function walkWarnings(state: WalkState, datasetDir: string): DatasetWarning[] {
  const warnings: DatasetWarning[] = [];
  if (state.outside.length > 0) {
    warnings.push({
      code: 'path_outside_root',
      message: `${state.outside.length} file(s) or folder(s) are symlinks that resolve outside the datasets root and were skipped`,
      files: state.outside.slice(0, MAX_WARNING_FILES).map((p) => toPosixRelative(datasetDir, p)),
    });
  }
  if (state.ignored.length > 0) {
    warnings.push({
      code: 'ignored_files',
      message: `${state.ignored.length} file(s) without an image extension (${IMAGE_EXTENSIONS.join(', ')}) were ignored`,
      files: state.ignored.slice(0, MAX_WARNING_FILES).map((p) => toPosixRelative(datasetDir, p)),
    });
  }
  return warnings;
}

async function subdirectories(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { withFileTypes: true });
  const dirs: string[] = [];
  for (const e of entries) {
    if (isJunk(e.name)) continue;
    if (e.isDirectory() || (e.isSymbolicLink() && (await isDirectory(path.join(dir, e.name))))) dirs.push(e.name);
  }
  return dirs.sort();
}

/** Layout detection for 'auto': MVTec (train/good + test/), else a CSV manifest, else one folder per class. */
export async function detectLayout(datasetDir: string, csvFile: string): Promise<DatasetLayout> {
  if ((await isDirectory(path.join(datasetDir, 'train', 'good'))) && (await isDirectory(path.join(datasetDir, 'test')))) {
    return 'mvtec';
  }
  if (await isFile(path.join(datasetDir, csvFile))) return 'csv';
  return 'folders';
}

/** One subfolder per class; images anywhere below a class folder belong to it. */
export async function scanFolders(root: string, datasetDir: string, signal?: AbortSignal): Promise<ScanResult> {
  const state: WalkState = { root, outside: [], ignored: [], visitedDirs: new Set([await fs.realpath(datasetDir)]), signal };
  const classes = await subdirectories(datasetDir);
  const files: ScannedFile[] = [];
  for (const className of classes) {
    const classDir = path.join(datasetDir, className);
    try {
      resolveInsideRoot(root, classDir);
    } catch (err) {
      if (!(err instanceof PathOutsideRootError)) throw err;
      state.outside.push(classDir);
      continue;
    }
    for (const abs of await walkImages(classDir, state)) {
      files.push({ id: toPosixRelative(datasetDir, abs), path: abs, className });
    }
  }
  const loose = (await fs.readdir(datasetDir, { withFileTypes: true })).filter((e) => e.isFile() && isImageFile(e.name));
  const warnings = walkWarnings(state, datasetDir);
  if (loose.length > 0) {
    warnings.push({
      code: 'ignored_files',
      message: `${loose.length} image(s) directly in the dataset folder belong to no class folder and were ignored`,
      files: loose.slice(0, MAX_WARNING_FILES).map((e) => e.name),
    });
  }
  return { files, declaredClasses: classes, warnings };
}

/**
 * MVTec AD: train/good/* and test/<good|defect>/* (ground_truth/ masks ignored).
 * A class that has train/ images keeps its test/ images as test and splits train/ into train/val.
 * A class found only in test/ (every defect in MVTec) is split train/val/test by the ratios,
 * since otherwise a classifier would never see a defect in training.
 */
export async function scanMvtec(root: string, datasetDir: string, signal?: AbortSignal): Promise<ScanResult> {
  const state: WalkState = { root, outside: [], ignored: [], visitedDirs: new Set([await fs.realpath(datasetDir)]), signal };
  const found: { abs: string; className: string; origin: 'train' | 'test' }[] = [];
  for (const origin of ['train', 'test'] as const) {
    const originDir = path.join(datasetDir, origin);
    if (!(await isDirectory(originDir))) continue;
    for (const className of await subdirectories(originDir)) {
      const classDir = path.join(originDir, className);
      try {
        resolveInsideRoot(root, classDir);
      } catch (err) {
        if (!(err instanceof PathOutsideRootError)) throw err;
        state.outside.push(classDir);
        continue;
      }
      for (const abs of await walkImages(classDir, state)) found.push({ abs, className, origin });
    }
  }
  const classesWithTrain = new Set(found.filter((f) => f.origin === 'train').map((f) => f.className));
  const files: ScannedFile[] = found.map(({ abs, className, origin }) => {
    const file: ScannedFile = { id: toPosixRelative(datasetDir, abs), path: abs, className };
    if (origin === 'train') file.noTest = true;
    else if (classesWithTrain.has(className)) file.fixedSplit = 'test';
    return file;
  });
  const declaredClasses = [...new Set(found.map((f) => f.className))].sort();
  return { files, declaredClasses, warnings: walkWarnings(state, datasetDir) };
}

const SPLIT_ALIASES: Record<string, Split> = {
  train: 'train',
  training: 'train',
  val: 'val',
  valid: 'val',
  validation: 'val',
  test: 'test',
  testing: 'test',
};

/**
 * CSV manifest with header path,label[,split]; paths are relative to the CSV's folder and must stay inside
 * the dataset's own folder (a row may not reach another dataset or anything else on disk).
 */
export async function scanCsv(datasetDir: string, csvPath: string): Promise<ScanResult> {
  const csvName = toPosixRelative(datasetDir, csvPath);
  const fail = (line: number, why: string): never => {
    throw new DatasetError('csv_invalid', `${csvName} line ${line}: ${why}`, { file: csvPath, line });
  };
  let text: string;
  try {
    text = await fs.readFile(csvPath, 'utf8');
  } catch {
    throw new DatasetError('dataset_not_found', `CSV manifest ${csvPath} does not exist or cannot be read`, { file: csvPath });
  }
  let rows: ReturnType<typeof parseCsv>;
  try {
    rows = parseCsv(text);
  } catch (err) {
    throw new DatasetError('csv_invalid', `${csvName}: ${(err as Error).message}`, { file: csvPath });
  }
  const header = rows[0];
  if (!header) return fail(1, 'the file is empty; expected a header "path,label[,split]"');
  const columns = header.fields.map((f) => f.trim().toLowerCase());
  const pathCol = columns.indexOf('path');
  const labelCol = columns.indexOf('label');
  const splitCol = columns.indexOf('split');
  if (pathCol < 0 || labelCol < 0) {
    fail(header.line, `header must name the columns "path" and "label" (optionally "split"), got "${header.fields.join(',')}"`);
  }
  const csvDir = path.dirname(csvPath);
  const files: ScannedFile[] = [];
  const missing: string[] = [];
  const seen = new Map<string, number>();
  for (const row of rows.slice(1)) {
    if (row.fields.length !== columns.length) {
      fail(row.line, `expected ${columns.length} fields (${columns.join(',')}), found ${row.fields.length}`);
    }
    const rel = (row.fields[pathCol] ?? '').trim();
    const label = (row.fields[labelCol] ?? '').trim();
    const splitRaw = splitCol >= 0 ? (row.fields[splitCol] ?? '').trim().toLowerCase() : '';
    if (!rel) fail(row.line, 'empty path');
    if (!label) fail(row.line, `empty label for "${rel}"`);
    let split: Split | undefined;
    if (splitRaw) {
      split = SPLIT_ALIASES[splitRaw];
      if (!split) fail(row.line, `split "${splitRaw}" is not one of train, val, test (or empty)`);
    }
    let abs: string;
    try {
      abs = resolveInsideRoot(datasetDir, path.resolve(csvDir, rel));
    } catch (err) {
      if (!(err instanceof PathOutsideRootError)) throw err;
      throw new DatasetError('path_outside_root', `${csvName} line ${row.line}: path "${rel}" is outside the dataset folder`, {
        file: csvPath,
        line: row.line,
        path: rel,
      });
    }
    const previous = seen.get(abs);
    if (previous !== undefined) fail(row.line, `"${rel}" is already listed on line ${previous}`);
    seen.set(abs, row.line);
    if (!(await isFile(abs))) {
      missing.push(rel);
      continue;
    }
    const file: ScannedFile = { id: toPosixRelative(datasetDir, abs), path: abs, className: label };
    if (split) file.fixedSplit = split;
    files.push(file);
  }
  const warnings: DatasetWarning[] = [];
  if (missing.length > 0) {
    warnings.push({
      code: 'missing_files',
      message: `${missing.length} file(s) listed in ${csvName} do not exist and were skipped`,
      files: missing.slice(0, MAX_WARNING_FILES),
    });
  }
  return { files, declaredClasses: [...new Set(files.map((f) => f.className))].sort(), warnings };
}
