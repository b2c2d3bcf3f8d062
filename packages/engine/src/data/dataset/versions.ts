/**
 * Dataset versions on disk. Images are immutable once uploaded; an edit (relabel, delete, new class)
 * never touches them. Instead each version is a CSV manifest `<dataset>/.versions/v<N>.csv` in the
 * csv layout the loader already reads (`path,label[,split]`, paths relative to `.versions/`, so item
 * ids stay relative to the dataset folder). Deleted files are simply not listed.
 *
 * Version 1 is the dataset as uploaded, loaded with its own layout (folders, MVTec, CSV), so a dataset
 * nobody edited behaves exactly as before; `.versions/v1.csv` is written as its record when the first
 * edit happens. Versions ≥ 2 are loaded from their CSV. Earlier runs stay reproducible because no
 * version file is ever rewritten (created with the exclusive `wx` flag).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { DatasetError } from '../errors.ts';
import type { Split } from './types.ts';

export const VERSIONS_DIR = '.versions';

export function versionCsvName(version: number): string {
  return `${VERSIONS_DIR}/v${version}.csv`;
}

/** Version numbers with a CSV in `<datasetDir>/.versions/`, ascending. */
export async function listDatasetVersions(datasetDir: string): Promise<number[]> {
  const names = await fs.readdir(path.join(datasetDir, VERSIONS_DIR)).catch(() => [] as string[]);
  return names
    .map((n) => /^v([1-9][0-9]*)\.csv$/.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .sort((a, b) => a - b);
}

export interface ResolvedDatasetVersion {
  /** The concrete version (≥ 1). */
  version: number;
  /** CSV (relative to the dataset folder) to load instead of the original layout; null for version 1. */
  csvFile: string | null;
}

/**
 * Which files a dataset node loads: `requested` 0 = the latest version. A dataset without
 * `.versions/` has exactly version 1 (its original layout).
 */
export async function resolveDatasetVersion(datasetDir: string, requested = 0): Promise<ResolvedDatasetVersion> {
  const versions = await listDatasetVersions(datasetDir);
  const latest = Math.max(1, ...versions);
  const version = requested > 0 ? requested : latest;
  if (!Number.isInteger(version) || version < 1) {
    throw new RangeError(`dataset version must be an integer ≥ 0 (0 = latest), got ${requested}`);
  }
  if (version === 1) return { version: 1, csvFile: null };
  if (!versions.includes(version)) {
    throw new DatasetError(
      'dataset_not_found',
      `Dataset version ${version} does not exist in ${datasetDir} (versions: ${versions.length ? versions.join(', ') : '1'})`,
      { path: path.join(datasetDir, versionCsvName(version)) },
    );
  }
  return { version, csvFile: versionCsvName(version) };
}

export interface VersionEntry {
  /** Item id: path relative to the dataset folder, forward slashes. */
  id: string;
  /** Class name. */
  label: string;
  /** A split fixed by the original layout (MVTec test/), kept across versions. */
  split?: Split;
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) || value !== value.trim() ? `"${value.replace(/"/g, '""')}"` : value;
}

/** CSV text of a version: paths relative to `.versions/` (hence `../`). */
export function formatVersionCsv(entries: readonly VersionEntry[]): string {
  const withSplit = entries.some((e) => e.split);
  const lines = [withSplit ? 'path,label,split' : 'path,label'];
  for (const e of [...entries].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const row = [csvField(`../${e.id}`), csvField(e.label)];
    if (withSplit) row.push(e.split ?? '');
    lines.push(row.join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** Writes `.versions/v<N>.csv` once; an existing version file is never replaced (EEXIST propagates). */
export async function writeDatasetVersion(datasetDir: string, version: number, entries: readonly VersionEntry[]): Promise<string> {
  const dir = path.join(datasetDir, VERSIONS_DIR);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(datasetDir, versionCsvName(version));
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, formatVersionCsv(entries), { flag: 'wx' });
  try {
    await fs.link(tmp, file); // fails with EEXIST instead of overwriting, unlike rename
  } finally {
    await fs.rm(tmp, { force: true });
  }
  return file;
}
