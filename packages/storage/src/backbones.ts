/**
 * The ONNX backbone library through the store (cluster mode): `backbones/<file>.onnx` and its settings sidecar
 * `backbones/<file>.onnx.json`. The web server that received an upload or a settings change publishes them; runners
 * fetch a backbone before inspecting it or training with it, other web servers to list it.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkKey } from './keys.ts';
import type { ArtifactStore } from './store.ts';

export const backboneKey = (file: string): string => checkKey(`backbones/${file}`);
const sidecarOf = (file: string) => `${file}.json`;

async function sizeOf(path: string): Promise<number | null> {
  try {
    return (await stat(path)).size;
  } catch {
    return null;
  }
}

/** Uploads `<dir>/<file>` unless the store has it at that size, and its sidecar (small, edited in place) every time. */
export async function publishBackbone(store: ArtifactStore, dir: string, file: string): Promise<void> {
  const local = join(dir, file);
  const size = await sizeOf(local);
  if (size === null) throw new Error(`backbone ${file} is not in ${dir}`);
  const stored = (await store.list(backboneKey(file))).find((o) => o.key === backboneKey(file));
  if (stored?.size !== size) await store.putFile(backboneKey(file), local);
  const sidecar = join(dir, sidecarOf(file));
  if ((await sizeOf(sidecar)) !== null) await store.putFile(backboneKey(sidecarOf(file)), sidecar);
  else await store.delete(backboneKey(sidecarOf(file)));
}

/**
 * Makes `<dir>/<file>` and its sidecar equal to the stored ones (the .onnx fetched only when missing or of another
 * size: names are never reused for other contents). False when the store has no such backbone.
 */
export async function fetchBackbone(store: ArtifactStore, dir: string, file: string): Promise<boolean> {
  const key = backboneKey(file);
  const objects = await store.list(key);
  const onnx = objects.find((o) => o.key === key);
  if (!onnx) return false;
  const local = join(dir, file);
  if ((await sizeOf(local)) !== onnx.size && !(await store.getToFile(key, local))) return false;
  const sidecarKey = backboneKey(sidecarOf(file));
  if (objects.some((o) => o.key === sidecarKey)) await store.getToFile(sidecarKey, join(dir, sidecarOf(file)));
  else await rm(join(dir, sidecarOf(file)), { force: true });
  return true;
}

/** The backbone files the store holds (their .onnx names). */
export async function listStoredBackbones(store: ArtifactStore): Promise<string[]> {
  return (await store.list('backbones/'))
    .map((o) => o.key.slice('backbones/'.length))
    .filter((name) => name.toLowerCase().endsWith('.onnx'));
}
