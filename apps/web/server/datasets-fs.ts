/** Read-only views of folders under DATASETS_ROOT for the dataset browser. */
import type { Dirent } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { NotFoundError } from '@defectflow/db';
import { hasImageExtension } from '@defectflow/engine/constants';
import { resolveInsideRoot } from './paths.ts';

/** The files the dataset loaders read as images (one list, @defectflow/engine/constants): what is listed, counted and served. */
export const isImageFile = hasImageExtension;

/**
 * A folder still being written, never a dataset: hidden names (".uploads" staging) and the sample generator's
 * `<name>.partial-<pid>-<time>` folders, renamed into place only when complete.
 */
export function isWorkInProgressName(name: string): boolean {
  return name.startsWith('.') || name.includes('.partial-');
}

export interface BrowseEntry {
  name: string;
  kind: 'dir' | 'file';
  /** Directories: images anywhere below (capped at COUNT_CAP). */
  imageCount?: number;
}

const COUNT_CAP = 100_000;

/** Counts image files below `dir`, stopping at `cap` so a huge tree cannot stall a request. */
export async function countImages(dir: string, cap = COUNT_CAP): Promise<number> {
  let count = 0;
  const stack = [dir];
  while (stack.length && count < cap) {
    const current = stack.pop()!;
    let entries: Dirent[];
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const e of entries) {
      if (isWorkInProgressName(e.name)) continue;
      if (e.isDirectory()) stack.push(join(current, e.name));
      else if (e.isFile() && isImageFile(e.name)) count++;
    }
  }
  return Math.min(count, cap);
}

/** Lists one folder inside the root: folders first, then files, each by name. */
export async function browse(root: string, userPath = ''): Promise<{ path: string; entries: BrowseEntry[] }> {
  const dir = resolveInsideRoot(root, userPath || '.');
  let dirents: Dirent[];
  try {
    dirents = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !userPath) return { path: '', entries: [] }; // no datasets yet
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new NotFoundError('dataset folder', userPath);
    throw err;
  }
  const visible = dirents.filter((d) => !isWorkInProgressName(d.name) && (d.isDirectory() || d.isFile()));
  const entries: BrowseEntry[] = [];
  for (const d of visible.filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    entries.push({ name: d.name, kind: 'dir', imageCount: await countImages(join(dir, d.name)) });
  }
  for (const d of visible.filter((d) => d.isFile()).sort((a, b) => a.name.localeCompare(b.name))) {
    entries.push({ name: d.name, kind: 'file' });
  }
  return { path: relative(root, dir).split(sep).join('/'), entries };
}

export interface DatasetInfo {
  name: string;
  /** Relative to DATASETS_ROOT (what a dataset node's `path` param takes). */
  path: string;
  imageCount: number;
  /** Sub-folders holding images (the classes of a folder-per-class dataset). */
  folders: string[];
}

/** Folders directly under the root that contain images. */
export async function listDatasets(root: string): Promise<DatasetInfo[]> {
  const { entries } = await browse(root);
  const out: DatasetInfo[] = [];
  for (const e of entries) {
    if (e.kind !== 'dir' || !e.imageCount) continue;
    const inner = await browse(root, e.name);
    out.push({
      name: e.name,
      path: e.name,
      imageCount: e.imageCount,
      folders: inner.entries.filter((x) => x.kind === 'dir' && x.imageCount).map((x) => x.name),
    });
  }
  return out;
}
