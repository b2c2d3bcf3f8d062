/**
 * The web server's view of stored artifacts (@defectflow/storage): run files and model folders are read
 * through an ArtifactStore, never straight from DATA_DIR, so a web server on another machine than the runner
 * reads them from the object store. Default (STORAGE_URL unset): FsStore rooted at DATA_DIR — the keys are
 * today's paths, nothing is copied.
 */
import { join, relative, sep } from 'node:path';
import { type ArtifactStore, checkPrefix, FsStore, publishDataset, type StoredObject } from '@defectflow/storage';
import { errorMessage, type Logger } from './log.ts';
import { modelDirInside, PathOutsideRootError } from './paths.ts';

export type { ArtifactStore };

/**
 * A model row's key prefix, `models/<folder>/`: its folder confined inside the models dir first (same refusal,
 * PathOutsideRootError naming the model, as when it was read from disk), then expressed relative to it.
 */
export function modelKeyPrefix(modelsDir: string, model: { id: string; dir: string }): string {
  const rel = relative(modelsDir, modelDirInside(modelsDir, model)).split(sep).join('/');
  try {
    return checkPrefix(`models/${rel}/`);
  } catch (err) {
    // Deploy nodes name folders with safe characters only; anything else is not a folder we serve.
    throw new PathOutsideRootError(model.dir, modelsDir, `model ${model.id}: ${(err as Error).message}`);
  }
}

export const runFileKey = (runId: string, file: string): string => `runs/${runId}/${file}`;

/**
 * The store for components built with folders only (tests, older call sites): `models/…` in modelsDir,
 * `runs/…` in runsDir. Same files as FsStore(DATA_DIR) when those are DATA_DIR/models and DATA_DIR/runs.
 */
export function localDirsStore(dirs: { modelsDir: string; runsDir?: string }): ArtifactStore {
  const mounts: [string, FsStore][] = [['models/', new FsStore(dirs.modelsDir)]];
  if (dirs.runsDir) mounts.push(['runs/', new FsStore(dirs.runsDir)]);
  const route = (key: string): [string, FsStore] => {
    for (const [prefix, store] of mounts) if (key.startsWith(prefix)) return [prefix, store];
    throw new Error(`no local folder holds storage key ${JSON.stringify(key)} (models/ and runs/ only)`);
  };
  const strip = (key: string) => {
    const [prefix, store] = route(key);
    return { store, key: key.slice(prefix.length), prefix };
  };
  const back = (prefix: string, objects: StoredObject[]) => objects.map((o) => ({ key: prefix + o.key, size: o.size }));
  return {
    put: (key, body) => strip(key).store.put(strip(key).key, body),
    putFile: (key, path) => strip(key).store.putFile(strip(key).key, path),
    get: (key) => strip(key).store.get(strip(key).key),
    getStream: (key) => strip(key).store.getStream(strip(key).key),
    getToFile: (key, path) => strip(key).store.getToFile(strip(key).key, path),
    has: (key) => strip(key).store.has(strip(key).key),
    list: async (p) => {
      const s = strip(p);
      return back(s.prefix, await s.store.list(s.key));
    },
    delete: (key) => strip(key).store.delete(strip(key).key),
    deletePrefix: (p) => strip(p).store.deletePrefix(strip(p).key),
    describe: () => mounts.map(([p, s]) => `${p} → ${s.describe()}`).join(', '),
  };
}

/** The store a context uses: the app's, or the local folders it names (contexts built by tests). */
export function storeOf(ctx: { store?: ArtifactStore; paths: { dataDir: string; modelsDir: string } }): ArtifactStore {
  return ctx.store ?? localDirsStore({ modelsDir: ctx.paths.modelsDir, runsDir: join(ctx.paths.dataDir, 'runs') });
}

/** Reads a stored JSON object; null when missing or not JSON. */
export async function readStoredJson(store: ArtifactStore, key: string): Promise<unknown> {
  const raw = await store.get(key);
  if (!raw) return null;
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return null;
  }
}

/**
 * Cluster mode (STORAGE_URL set): after a dataset changes on this server (upload, "add images", relabel or
 * delete version, sample generation) it is published to the store (content-addressed: only new contents
 * travel) so runners on other machines can materialize it. Without STORAGE_URL: nothing (runners share the disk).
 */
export interface DatasetPublisher {
  readonly enabled: boolean;
  publishAfterChange(name: string): Promise<void>;
  /** Told after each successful publish (cluster mode: the other web servers' mirrors, cluster/dataset-mirror.ts). */
  onPublished?: (name: string) => Promise<void>;
}

export function createDatasetPublisher(opts: { store: ArtifactStore; datasetsRoot: string; enabled: boolean; log: Logger }): DatasetPublisher {
  // One publish per dataset at a time; a change during a publish queues one more after it.
  const chains = new Map<string, Promise<void>>();
  const publisher: DatasetPublisher = {
    enabled: opts.enabled,
    publishAfterChange(name) {
      if (!opts.enabled) return Promise.resolve();
      const run = async () => {
        try {
          const r = await publishDataset(opts.store, opts.datasetsRoot, name);
          opts.log.info(`dataset ${name} published to ${opts.store.describe()}: ${r.files} files, ${r.uploadedBlobs} new blobs (${r.uploadedBytes} bytes)`);
        } catch (err) {
          throw new Error(`Publishing dataset ${name} to ${opts.store.describe()} failed: ${errorMessage(err)}`);
        }
        await publisher.onPublished?.(name).catch((err: unknown) => opts.log.warn(`dataset ${name}: telling the other web servers failed: ${errorMessage(err)}`));
      };
      const next = (chains.get(name) ?? Promise.resolve()).catch(() => undefined).then(run);
      chains.set(name, next);
      void next.finally(() => {
        if (chains.get(name) === next) chains.delete(name);
      }).catch(() => undefined);
      return next;
    },
  };
  return publisher;
}
