/** What the dataset page shows: one version loaded by the engine's loader, with counts and warnings. */
import { stat } from 'node:fs/promises';
import { TRPCError } from '@trpc/server';
import { findNearDuplicatesAcrossClasses } from './near-duplicates.ts';
import { datasetDir, engineData } from './versions.ts';

export interface DatasetInspection {
  name: string;
  version: number;
  latestVersion: number;
  layout: string;
  classes: string[];
  /** Images per class. */
  counts: Record<string, number>;
  total: number;
  warnings: { code: string; message: string; files: string[] }[];
  imageStats: { sizes: Record<string, number>; channels: Record<string, number> };
  /** Every item of the version: id (path relative to the dataset folder) and class. */
  items: { id: string; className: string }[];
  signature: string;
}

const cache = new Map<string, DatasetInspection>();
const CACHE_SIZE = 16;

/** Loads a dataset version (0 = latest). Versions ≥ 2 are immutable files, so their inspection is cached. */
export async function inspectDataset(root: string, name: string, requested = 0): Promise<DatasetInspection> {
  const data = await engineData();
  const dir = datasetDir(root, name);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new TRPCError({ code: 'NOT_FOUND', message: `Dataset ${name} does not exist under the datasets folder` });
  const latest = (await data.resolveDatasetVersion(dir, 0)).version;
  const resolved = await data.resolveDatasetVersion(dir, requested);
  const key = `${root}\0${name}\0${resolved.version}\0${resolved.csvFile ? '' : info.mtimeMs}`;
  const hit = cache.get(key);
  if (hit) return { ...hit, latestVersion: latest };
  let manifest: Awaited<ReturnType<typeof data.loadDataset>>;
  try {
    manifest = await data.loadDataset({
      root,
      path: name,
      ...(resolved.csvFile ? { layout: 'csv' as const, csvFile: resolved.csvFile } : {}),
    });
  } catch (err) {
    if (err instanceof data.DatasetError) throw new TRPCError({ code: 'BAD_REQUEST', message: err.message, cause: err });
    throw err;
  }
  const warnings = manifest.warnings.map((w) => ({ code: w.code as string, message: w.message, files: w.files ?? [] }));
  const exact = new Set(warnings.filter((w) => w.code.startsWith('duplicate')).flatMap((w) => w.files));
  const near = await findNearDuplicatesAcrossClasses(
    manifest.items.map((i) => ({ id: i.id, path: i.path, className: manifest.classes[i.label] as string })),
  );
  const nearPairs = (near ?? []).filter(([a, b]) => !(exact.has(a) && exact.has(b)));
  if (nearPairs.length > 0) {
    warnings.push({
      code: 'near_duplicates_across_classes',
      message: `${nearPairs.length} pair(s) of nearly identical images carry different labels: ${nearPairs
        .slice(0, 5)
        .map((p) => p.join(' ≈ '))
        .join('; ')}${nearPairs.length > 5 ? '; …' : ''}`,
      files: [...new Set(nearPairs.flat())].slice(0, 50),
    });
  }
  const counts = Object.fromEntries(Object.entries(manifest.counts).map(([c, n]) => [c, n.total]));
  const result: DatasetInspection = {
    name,
    version: resolved.version,
    latestVersion: latest,
    layout: manifest.layout,
    classes: manifest.classes,
    counts,
    total: manifest.items.length,
    warnings,
    imageStats: manifest.imageStats,
    items: manifest.items.map((i) => ({ id: i.id, className: manifest.classes[i.label] as string })),
    signature: manifest.signature,
  };
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  cache.set(key, result);
  return result;
}
