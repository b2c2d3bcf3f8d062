/**
 * Content-addressed datasets: the web server publishes a dataset folder as `blobs/<sha256>` (each content once,
 * shared by every dataset and version) plus `datasets/<name>/manifest.json` (relative path → sha256 + size),
 * written last so a reader never sees a manifest naming a blob not yet uploaded. A runner materializes it:
 * its folder is made equal to the manifest, each blob fetched once per machine into a local cache (casDir)
 * and hard-linked into place.
 */
import { copyFile, link, lstat, mkdir, readdir, readFile, rename, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { type PruneBlobCacheResult, pruneBlobCache, touchBlob } from './blob-cache.ts';
import { checkKey, checkRelativePath } from './keys.ts';
import { SHA256_HEX, sha256, sha256File } from './hash.ts';
import { withLock } from './lock.ts';
import { eachLimit } from './pool.ts';
import type { ArtifactStore } from './store.ts';
import { errCode, isTempName, tempSibling } from './temp-file.ts';

/** Files up to this size are read once (hashed and uploaded from memory); bigger ones are streamed twice. */
const IN_MEMORY_BYTES = 16 * 1024 * 1024;
const PARALLEL = 8;

export const datasetManifest = z.object({
  version: z.literal(1),
  name: z.string(),
  files: z.record(z.string(), z.object({ sha256: z.string().regex(SHA256_HEX), size: z.number().int().nonnegative() })),
});
export type DatasetManifest = z.infer<typeof datasetManifest>;

export const manifestKey = (name: string): string => checkKey(`datasets/${checkDatasetName(name)}/manifest.json`);
export const blobKey = (sha: string): string => `blobs/${sha}`;

/** The names of the datasets that have a manifest in the store. */
export async function listPublishedDatasets(store: ArtifactStore): Promise<string[]> {
  const names: string[] = [];
  for (const { key } of await store.list('datasets/')) {
    const name = /^datasets\/(.+)\/manifest\.json$/.exec(key)?.[1];
    if (name) names.push(name);
  }
  return names;
}

function checkDatasetName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(name)) throw new Error(`dataset name ${JSON.stringify(name)} is not allowed (letters, digits, . _ -)`);
  return name;
}

interface LocalFile {
  rel: string;
  path: string;
  size: number;
}

/** Every regular file under dir (hidden .versions/ and .added/ included); a symlink is refused, naming it. */
async function walkDataset(dir: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const visit = async (folder: string, rel: string): Promise<void> => {
    for (const e of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isSymbolicLink()) throw new Error(`dataset file ${path} is a symbolic link: datasets are published as plain files only`);
      if (e.isDirectory()) await visit(path, r);
      else if (e.isFile()) {
        if (isTempName(e.name)) continue;
        out.push({ rel: checkRelativePath(r, `dataset file ${path}`), path, size: (await stat(path)).size });
      } else throw new Error(`dataset file ${path} is not a regular file or folder`);
    }
  };
  await visit(dir, '');
  return out.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export interface PublishResult {
  name: string;
  files: number;
  bytes: number;
  /** Blobs this call uploaded (the rest were in the store already). */
  uploadedBlobs: number;
  uploadedBytes: number;
}

export async function publishDataset(store: ArtifactStore, datasetsRoot: string, name: string): Promise<PublishResult> {
  const dir = join(datasetsRoot, checkDatasetName(name));
  const top = await lstat(dir).catch(() => null);
  if (!top?.isDirectory()) throw new Error(`dataset ${name}: ${dir} is not a folder`);
  const files = await walkDataset(dir);
  const manifest: DatasetManifest = { version: 1, name, files: {} };
  const seen = new Set<string>();
  let uploadedBlobs = 0;
  let uploadedBytes = 0;
  let bytes = 0;
  await eachLimit(files, PARALLEL, async (f) => {
    let sha: string;
    let body: Buffer | undefined;
    if (f.size <= IN_MEMORY_BYTES) {
      body = await readFile(f.path);
      sha = sha256(body);
    } else {
      sha = await sha256File(f.path);
    }
    manifest.files[f.rel] = { sha256: sha, size: body?.length ?? f.size };
    bytes += body?.length ?? f.size;
    if (seen.has(sha)) return;
    seen.add(sha);
    if (await store.has(blobKey(sha))) return;
    if (body) await store.put(blobKey(sha), body);
    else await store.putFile(blobKey(sha), f.path);
    uploadedBlobs++;
    uploadedBytes += body?.length ?? f.size;
  });
  const sorted: DatasetManifest = { ...manifest, files: Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => (a < b ? -1 : 1))) };
  await store.put(manifestKey(name), JSON.stringify(sorted));
  return { name, files: files.length, bytes, uploadedBlobs, uploadedBytes };
}

export async function readDatasetManifest(store: ArtifactStore, name: string): Promise<DatasetManifest | null> {
  const raw = await store.get(manifestKey(name));
  if (!raw) return null;
  let parsed: DatasetManifest;
  try {
    parsed = datasetManifest.parse(JSON.parse(raw.toString('utf8')));
  } catch (err) {
    throw new Error(`dataset ${name}: ${manifestKey(name)} in ${store.describe()} is not a valid manifest (${(err as Error).message})`);
  }
  for (const rel of Object.keys(parsed.files)) checkRelativePath(rel, `dataset ${name} manifest`);
  return parsed;
}

/** In-flight blob downloads of this process, per cache file: two datasets needing one blob fetch it once. */
const fetching = new Map<string, Promise<void>>();

/** The blob's file in the local cache, fetched (temp + rename, sha verified) when not there yet. */
async function cachedBlob(store: ArtifactStore, casDir: string, sha: string, size: number, onFetch: (bytes: number) => void): Promise<string> {
  const file = join(casDir, sha);
  const have = await stat(file).catch(() => null);
  if (have?.isFile() && have.size === size) {
    await touchBlob(file, have.mtime);
    return file;
  }
  let pending = fetching.get(file);
  if (!pending) {
    pending = (async () => {
      await mkdir(casDir, { recursive: true });
      const tmp = tempSibling(file);
      try {
        if (!(await store.getToFile(blobKey(sha), tmp))) throw new Error(`blob ${blobKey(sha)} is missing from ${store.describe()}`);
        const got = await sha256File(tmp);
        if (got !== sha) throw new Error(`blob ${blobKey(sha)} from ${store.describe()} has sha256 ${got}: corrupt or replaced`);
        await rename(tmp, file);
        onFetch(size);
      } finally {
        await rm(tmp, { force: true });
      }
    })().finally(() => fetching.delete(file));
    fetching.set(file, pending);
  }
  await pending;
  return file;
}

/** Puts `source`'s content at `target` atomically: a hard link (no copy) or, across file systems, a copy. */
async function place(source: string, target: string): Promise<void> {
  const tmp = tempSibling(target);
  try {
    await link(source, tmp);
  } catch {
    await copyFile(source, tmp);
  }
  try {
    const existing = await lstat(target).catch(() => null);
    if (existing?.isDirectory()) await rm(target, { recursive: true, force: true });
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export interface MaterializeResult {
  name: string;
  files: number;
  /** Blobs downloaded by this call (missing from the machine's cache). */
  fetchedBlobs: number;
  fetchedBytes: number;
  /** Files (re)placed from the cache; kept = already equal; removed = not in the manifest. */
  placed: number;
  kept: number;
  removed: number;
  /** With cacheMaxBytes: what bounding the cache did afterwards. */
  cache?: PruneBlobCacheResult;
}

export interface MaterializeOptions {
  /** Longest wait for another process materializing the same dataset on this machine. */
  lockTimeoutMs?: number;
  /** Bound on the cache's blobs that no dataset folder links (see blob-cache.ts); unset: unbounded. */
  cacheMaxBytes?: number;
}

/**
 * Makes `<datasetsRoot>/<name>` equal to the published manifest. One materialization of a dataset at a time
 * per machine (a lock file next to the cache); each file lands by rename, so a reader never sees half a file.
 */
export async function materializeDataset(
  store: ArtifactStore,
  datasetsRoot: string,
  name: string,
  casDir: string,
  opts: MaterializeOptions = {},
): Promise<MaterializeResult> {
  const manifest = await readDatasetManifest(store, name);
  if (!manifest) throw new Error(`dataset ${name} is not published in ${store.describe()} (no ${manifestKey(name)})`);
  const dir = join(datasetsRoot, name);
  const lockFile = join(casDir, '.locks', `dataset-${name}.lock`);
  const result = await withLock(lockFile, async () => {
    const result: MaterializeResult = { name, files: 0, fetchedBlobs: 0, fetchedBytes: 0, placed: 0, kept: 0, removed: 0 };
    const onFetch = (bytes: number) => {
      result.fetchedBlobs++;
      result.fetchedBytes += bytes;
    };
    await mkdir(dir, { recursive: true });
    const existing = new Map((await walkLoose(dir)).map((f) => [f.rel, f]));
    const entries = Object.entries(manifest.files);
    result.files = entries.length;
    await eachLimit(entries, PARALLEL, async ([rel, want]) => {
      const target = join(dir, ...rel.split('/'));
      const have = existing.get(rel);
      if (have && have.size === want.size) {
        // A file hard-linked from the cache is the blob itself; anything else is hashed.
        const [a, b] = await Promise.all([stat(have.path), stat(join(casDir, want.sha256)).catch(() => null)]);
        if ((b && a.ino === b.ino && a.dev === b.dev) || (await sha256File(have.path)) === want.sha256) {
          result.kept++;
          return;
        }
      }
      const blob = await cachedBlob(store, casDir, want.sha256, want.size, onFetch);
      await mkdir(join(target, '..'), { recursive: true });
      await place(blob, target);
      result.placed++;
    });
    for (const [rel, f] of existing) {
      if (manifest.files[rel]) continue;
      await rm(f.path, { force: true });
      result.removed++;
    }
    await removeEmptyFolders(dir, true);
    return result;
  }, { timeoutMs: opts.lockTimeoutMs });
  // After the swap: the files this version replaced or removed have just left their blobs unlinked.
  if (opts.cacheMaxBytes !== undefined) result.cache = await pruneBlobCache(casDir, { maxBytes: opts.cacheMaxBytes });
  return result;
}

/** Like walkDataset but tolerant: a symlink or odd entry in a runner's copy is reported as a file to replace. */
async function walkLoose(dir: string): Promise<LocalFile[]> {
  const out: LocalFile[] = [];
  const visit = async (folder: string, rel: string): Promise<void> => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch (err) {
      if (errCode(err) === 'ENOENT') return;
      throw err;
    }
    for (const e of entries) {
      const path = join(folder, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(path, r);
      // size -1: never equal to a manifest entry, so it is replaced (or removed).
      else out.push({ rel: r, path, size: e.isFile() ? (await stat(path)).size : -1 });
    }
  };
  await visit(dir, '');
  return out;
}

async function removeEmptyFolders(dir: string, keep: boolean): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await removeEmptyFolders(join(dir, e.name), false);
  if (!keep) await rmdir(dir).catch(() => undefined);
}
