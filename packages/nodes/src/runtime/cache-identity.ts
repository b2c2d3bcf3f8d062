/**
 * Files a node reads besides its params and inputs, that a user can change in place: an imported ONNX backbone and
 * its sidecar settings (edited on the backbones page), a custom TF.js model folder. Their size and mtime join the
 * node's cache key (executor), so a replaced file is never answered from a cached output. Light on purpose (no
 * engine import): the executor loads it for every run, also with test run functions.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { BACKBONES_DIR } from '@defectflow/engine/constants';
import type { NodeRunContext } from './types.ts';

export type NodeCacheIdentityFn = (params: Record<string, unknown>, dirs: NodeRunContext['dirs']) => Promise<unknown>;

async function fileStamp(file: string): Promise<{ size: number; mtimeMs: number } | null> {
  const st = await fs.stat(file).catch(() => null);
  return st?.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : null;
}

/** `rel` under `root`, or null when it leaves it (the run function refuses such a path with its own message). */
function under(root: string, rel: unknown): string | null {
  if (typeof rel !== 'string' || rel === '') return null;
  const full = path.resolve(root, rel);
  return full.startsWith(path.resolve(root) + path.sep) ? full : null;
}

async function folderStamps(dir: string): Promise<Record<string, unknown>> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await fileStamp(path.join(dir, n))])));
}

const backbone: NodeCacheIdentityFn = async (params, dirs) => {
  if (params.source === 'onnx') {
    const file = under(path.join(dirs.dataDir, BACKBONES_DIR), params.onnxFile);
    // `<file>.json`: the engine's sidecarPath.
    return file ? { onnx: await fileStamp(file), sidecar: await fileStamp(`${file}.json`) } : null;
  }
  if (params.source === 'custom') {
    const modelPath = under(dirs.datasetsRoot, params.modelPath) ?? under(path.join(dirs.dataDir, 'models'), params.modelPath);
    if (!modelPath) return null;
    return folderStamps(modelPath.endsWith('.json') ? path.dirname(modelPath) : modelPath);
  }
  return null;
};

/** Node type → its file stamps; null = nothing beyond params (the key stays as it was). */
export const nodeCacheIdentity: Readonly<Record<string, NodeCacheIdentityFn>> = { backbone };
