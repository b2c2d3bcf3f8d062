/**
 * Dataset version bookkeeping for the web server. The dataset folder's `.versions/v<N>.csv` files
 * are the source of truth (the runner reads them, it has no database); each version is mirrored into
 * the `dataset_versions` table (item id → class, the change, counts) for the history list.
 * Version 1 = the dataset as uploaded; every edit (relabel, delete, move to a new class) and every "Add images"
 * upload (add-images.ts) writes v<N+1>.
 */
import { stat } from 'node:fs/promises';
import type { Repositories } from '@defectflow/db';
import type { PipelineGraph } from '@defectflow/nodes';
import { TRPCError } from '@trpc/server';
import type { DatasetInfo } from '../datasets-fs.ts';
import { resolveInsideRoot } from '../paths.ts';

type DataApi = typeof import('@defectflow/engine/data');
let dataApi: Promise<DataApi> | undefined;
/** The engine's data half (sharp, no TensorFlow), loaded on first use. */
export function engineData(): Promise<DataApi> {
  dataApi ??= import('@defectflow/engine/data');
  return dataApi;
}

export interface VersionEntry {
  id: string;
  label: string;
  split?: 'train' | 'val' | 'test';
}

export type DatasetChange =
  | { kind: 'relabel'; ids: string[]; to: string }
  | { kind: 'delete'; ids: string[] };

export interface VersionManifest {
  /** item id → class name, deletions excluded. */
  items: Record<string, string>;
  counts: Record<string, number>;
  change: DatasetChange | { kind: 'initial' } | AddedChange;
}

/** Images added by an upload (add-images.ts): how many per class, and which classes are new. */
export interface AddedChange {
  kind: 'add';
  added: Record<string, number>;
  newClasses: string[];
}

/** A class name that survives a CSV and a folder name: no slashes, no leading dot, not empty. */
export function checkClassName(name: string): string {
  const trimmed = name.trim();
  if (!trimmed || trimmed.length > 100 || trimmed.startsWith('.') || /[/\\\0\r\n]/.test(trimmed)) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `Class name "${name}" is not valid: use 1-100 characters, no slashes or line breaks, not starting with "."`,
    });
  }
  return trimmed;
}

export function datasetDir(root: string, name: string): string {
  return resolveInsideRoot(root, name);
}

/** The entries of a version: version 1 from the original layout, later ones from their CSV. */
export async function readVersionEntries(root: string, name: string, version: number): Promise<VersionEntry[]> {
  const data = await engineData();
  const dir = datasetDir(root, name);
  const resolved = await data.resolveDatasetVersion(dir, version);
  if (resolved.csvFile) {
    const { readFile } = await import('node:fs/promises');
    const rows = data.parseCsv(await readFile(`${dir}/${resolved.csvFile}`, 'utf8'));
    const [header, ...body] = rows;
    const cols = (header?.fields ?? []).map((f) => f.trim().toLowerCase());
    const p = cols.indexOf('path');
    const l = cols.indexOf('label');
    const s = cols.indexOf('split');
    return body.map((r) => {
      const entry: VersionEntry = { id: (r.fields[p] ?? '').trim().replace(/^\.\.\//, ''), label: (r.fields[l] ?? '').trim() };
      const split = s >= 0 ? (r.fields[s] ?? '').trim() : '';
      if (split === 'train' || split === 'val' || split === 'test') entry.split = split;
      return entry;
    });
  }
  const manifest = await data.loadDataset({ root, path: name, checkDuplicates: false, checkImages: false, testRatio: 0.15 });
  // MVTec keeps its test/ images of classes that also have train/ images as test; carry that over.
  const withTrain = new Set(
    manifest.items.filter((i) => i.id.startsWith('train/')).map((i) => manifest.classes[i.label] as string),
  );
  return manifest.items.map((i) => {
    const label = manifest.classes[i.label] as string;
    const entry: VersionEntry = { id: i.id, label };
    if (manifest.layout === 'mvtec' && i.id.startsWith('test/') && withTrain.has(label)) entry.split = 'test';
    return entry;
  });
}

function countsOf(entries: readonly VersionEntry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of entries) counts[e.label] = (counts[e.label] ?? 0) + 1;
  return counts;
}

export function toManifest(entries: readonly VersionEntry[], change: VersionManifest['change']): VersionManifest {
  return { items: Object.fromEntries(entries.map((e) => [e.id, e.label])), counts: countsOf(entries), change };
}

/** Applies a change to a version's entries; unknown ids are an error naming them. */
export function applyChange(entries: readonly VersionEntry[], change: DatasetChange): VersionEntry[] {
  const ids = new Set(change.ids);
  const known = new Set(entries.map((e) => e.id));
  const unknown = [...ids].filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `Not in the current dataset version: ${unknown.slice(0, 5).join(', ')}${unknown.length > 5 ? ', …' : ''}`,
    });
  }
  if (ids.size === 0) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Select at least one image' });
  if (change.kind === 'delete') {
    const left = entries.filter((e) => !ids.has(e.id));
    if (left.length === 0) throw new TRPCError({ code: 'BAD_REQUEST', message: 'Deleting every image would leave an empty dataset' });
    return left;
  }
  const to = checkClassName(change.to);
  return entries.map((e) => (ids.has(e.id) ? { ...e, label: to } : e));
}

const locks = new Map<string, Promise<unknown>>();
/** One edit at a time per dataset inside this process; the `wx` version files guard across processes. */
export function withDatasetLock<T>(root: string, name: string, fn: () => Promise<T>): Promise<T> {
  const key = `${root}\0${name}`;
  const previous = locks.get(key) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  locks.set(
    key,
    next.catch(() => undefined),
  );
  return next;
}

/** Registers the dataset in the database and records version 1 when it is not yet there. */
export async function ensureRegistered(repo: Repositories, root: string, name: string): Promise<void> {
  const existing = await repo.datasets.getByName(name);
  if (existing && (await repo.datasets.versions(existing.id)).some((v) => v.version === 1)) return;
  // A name with no folder is the caller's mistake (NOT_FOUND naming it), not a failed read (500).
  if (!(await stat(datasetDir(root, name)).catch(() => null))?.isDirectory()) {
    throw new TRPCError({ code: 'NOT_FOUND', message: `Dataset ${name} does not exist under the datasets folder` });
  }
  await repo.datasets.upsert({ name, path: name });
  const entries = await readVersionEntries(root, name, 1);
  await repo.datasets.recordVersion(name, 1, toManifest(entries, { kind: 'initial' }), 'Uploaded');
}

export interface EditResult {
  version: number;
  counts: Record<string, number>;
}

/** The latest version of a dataset: its number and entries (NOT_FOUND when the folder is missing). */
export async function latestVersion(root: string, name: string): Promise<{ version: number; entries: VersionEntry[] }> {
  const data = await engineData();
  const dir = datasetDir(root, name);
  if (!(await stat(dir).catch(() => null))?.isDirectory()) {
    throw new TRPCError({ code: 'NOT_FOUND', message: `Dataset ${name} does not exist under the datasets folder` });
  }
  const { version } = await data.resolveDatasetVersion(dir, 0);
  return { version, entries: await readVersionEntries(root, name, version) };
}

/**
 * Writes version `latest + 1` with `next` (call it under withDatasetLock): the record of version 1 first when this
 * is the first change, then the new CSV (never overwritten: CONFLICT when another process wrote it), then its row.
 */
export async function writeNextVersion(
  repo: Repositories,
  root: string,
  name: string,
  latest: { version: number; entries: readonly VersionEntry[] },
  next: readonly VersionEntry[],
  change: VersionManifest['change'],
  message: string,
): Promise<EditResult> {
  const data = await engineData();
  const dir = datasetDir(root, name);
  await ensureRegistered(repo, root, name);
  if (latest.version === 1 && !(await data.listDatasetVersions(dir)).includes(1)) {
    await data.writeDatasetVersion(dir, 1, latest.entries); // the record of the original
  }
  const version = latest.version + 1;
  try {
    await data.writeDatasetVersion(dir, version, next);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new TRPCError({ code: 'CONFLICT', message: `Dataset ${name} changed meanwhile (version ${version} exists); reload and retry` });
    }
    throw err;
  }
  const manifest = toManifest(next, change);
  await repo.datasets.recordVersion(name, version, manifest, message);
  return { version, counts: manifest.counts };
}

/** Creates version N+1 from the latest version and `change`; earlier versions are never touched. */
export function editDataset(repo: Repositories, root: string, name: string, change: DatasetChange, message?: string): Promise<EditResult> {
  return withDatasetLock(root, name, async () => {
    const latest = await latestVersion(root, name);
    const next = applyChange(latest.entries, change);
    const describe =
      message ??
      (change.kind === 'delete' ? `Deleted ${change.ids.length} image(s)` : `Moved ${change.ids.length} image(s) to ${change.to.trim()}`);
    return writeNextVersion(repo, root, name, latest, next, change, describe);
  });
}

/**
 * A dataset list row as of the dataset's latest version: edits and added images live in version CSVs, not in the
 * folders the listing counted. Version 1 (or a CSV that cannot be read) keeps what was counted on disk.
 */
export async function asOfLatestVersion(root: string, info: DatasetInfo): Promise<DatasetInfo & { version: number }> {
  try {
    const { version } = await (await engineData()).resolveDatasetVersion(datasetDir(root, info.path), 0);
    if (version === 1) return { ...info, version };
    const entries = await readVersionEntries(root, info.path, version);
    return { ...info, version, imageCount: entries.length, folders: [...new Set(entries.map((e) => e.label))].sort() };
  } catch {
    return { ...info, version: 1 };
  }
}

/**
 * Pins every dataset node of a graph about to run to a concrete version (0 = latest → N), so the
 * run's stored graph states what it trained on and the runner's output cache (keyed by params)
 * cannot serve data loaded from an older version.
 */
export async function pinDatasetVersions(root: string, graph: PipelineGraph): Promise<PipelineGraph> {
  const data = await engineData();
  const nodes = await Promise.all(
    graph.nodes.map(async (node) => {
      if (node.type !== 'dataset' || typeof node.params.path !== 'string') return node;
      const requested = typeof node.params.version === 'number' ? node.params.version : 0;
      if (requested > 0) return node;
      try {
        const dir = resolveInsideRoot(root, node.params.path);
        if (!(await stat(dir).catch(() => null))?.isDirectory()) return node;
        const { version } = await data.resolveDatasetVersion(dir, 0);
        return { ...node, params: { ...node.params, version } };
      } catch {
        return node; // the dataset node itself reports a bad path when it runs
      }
    }),
  );
  return { ...graph, nodes };
}
