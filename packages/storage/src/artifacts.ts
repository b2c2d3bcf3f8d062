/**
 * A runner's side of run artifacts: after a node finishes, what the web servers need from its disk goes to
 * the store (evaluate: the full metrics file; deploy: the model folder); before predicting with a model it
 * did not train, the runner fetches the folder once. With the default FsStore rooted at the runner's own
 * DATA_DIR both are no-ops (the keys ARE those files).
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { checkKey, checkPrefix } from './keys.ts';
import type { ArtifactStore } from './store.ts';

export const runFileKey = (runId: string, file: string): string => checkKey(`runs/${runId}/${file}`);
export const modelPrefix = (modelId: string): string => checkPrefix(`models/${checkKey(modelId)}/`);

export interface UploadRunArtifactsInput {
  /** The runner's DATA_DIR (runs/ and models/ inside). */
  dataDir: string;
  runId: string;
  nodeType: string;
  nodeId: string;
  /** The node.finished summary (deploy: modelId + dir). */
  summary: Record<string, unknown> | undefined;
}

export interface UploadedArtifacts {
  keys: string[];
  bytes: number;
}

/** Uploads what the web servers read of a finished node; nothing for other node types. Idempotent. */
export async function uploadRunArtifacts(store: ArtifactStore, input: UploadRunArtifactsInput): Promise<UploadedArtifacts> {
  const out: UploadedArtifacts = { keys: [], bytes: 0 };
  if (input.nodeType === 'evaluate') {
    const key = runFileKey(input.runId, `metrics-${input.nodeId}.json`);
    const file = join(resolve(input.dataDir), 'runs', input.runId, `metrics-${input.nodeId}.json`);
    const size = await stat(file).then((s) => (s.isFile() ? s.size : null), () => null);
    if (size === null) return out;
    await store.putFile(key, file);
    out.keys.push(key);
    out.bytes += size;
  } else if (input.nodeType === 'deploy') {
    const { modelId, folder } = deployFolder(input.dataDir, input.summary, input.runId);
    const prefix = modelPrefix(modelId);
    for (const f of await filesUnder(folder)) {
      const key = checkKey(prefix + f.rel);
      await store.putFile(key, f.path);
      out.keys.push(key);
      out.bytes += f.size;
    }
  }
  return out;
}

/** The deploy summary's model folder, refused unless it is a folder inside DATA_DIR/models. */
function deployFolder(dataDir: string, summary: Record<string, unknown> | undefined, runId: string): { modelId: string; folder: string } {
  const modelsDir = join(resolve(dataDir), 'models');
  const dir = summary?.dir;
  if (typeof dir !== 'string' || !dir) throw new Error(`run ${runId}: the deploy summary names no model folder (dir)`);
  const folder = resolve(modelsDir, dir);
  const rel = relative(modelsDir, folder);
  if (!rel || rel.startsWith('..') || rel.includes(sep) || resolve(modelsDir, rel) !== folder) {
    throw new Error(`run ${runId}: deploy folder ${dir} is not a folder directly inside ${modelsDir}`);
  }
  const modelId = typeof summary?.modelId === 'string' && summary.modelId ? summary.modelId : rel;
  if (modelId !== rel) throw new Error(`run ${runId}: deploy folder ${dir} does not match model id ${modelId}`);
  return { modelId, folder };
}

async function filesUnder(dir: string): Promise<{ rel: string; path: string; size: number }[]> {
  const out: { rel: string; path: string; size: number }[] = [];
  const visit = async (folder: string, rel: string): Promise<void> => {
    for (const e of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, e.name);
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(path, r);
      else if (e.isFile()) out.push({ rel: r, path, size: (await stat(path)).size });
    }
  };
  await visit(dir, '');
  return out;
}

export interface EnsuredModel {
  dir: string;
  files: number;
  fetched: number;
  fetchedBytes: number;
}

/**
 * Makes `<modelsDir>/<modelId>` hold the stored model folder: files missing or of another size are
 * downloaded (temp + rename each), so a second call fetches nothing. Throws when the store has no such model.
 */
export async function ensureModelLocal(store: ArtifactStore, modelId: string, modelsDir: string): Promise<EnsuredModel> {
  const prefix = modelPrefix(modelId);
  const objects = await store.list(prefix);
  if (objects.length === 0) throw new Error(`model ${modelId} is not in ${store.describe()} (nothing under ${prefix})`);
  const dir = join(resolve(modelsDir), modelId);
  const result: EnsuredModel = { dir, files: objects.length, fetched: 0, fetchedBytes: 0 };
  for (const o of objects) {
    const target = join(dir, ...o.key.slice(prefix.length).split('/'));
    const have = await stat(target).catch(() => null);
    if (have?.isFile() && have.size === o.size) continue;
    if (!(await store.getToFile(o.key, target))) throw new Error(`model ${modelId}: ${o.key} vanished from ${store.describe()} while downloading`);
    result.fetched++;
    result.fetchedBytes += o.size;
  }
  return result;
}
