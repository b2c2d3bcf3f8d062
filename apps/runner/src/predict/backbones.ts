/**
 * ONNX backbone inspection on the runner (ONNX Runtime lives here, not in the web server): the cut points of a
 * library file with their shapes, and its throughput on this machine. Files are `DATA_DIR/backbones/<name>.onnx`
 * (settings in the sidecar `<name>.onnx.json`), the name checked and the path confined to that folder.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { BACKBONES_DIR } from '@defectflow/engine/constants';
import { PathOutsideRootError, resolveInsideRoot } from '@defectflow/engine/data';
import { type OnnxBackboneInfo, inspectOnnxBackbone, measureOnnxFileThroughput } from '@defectflow/engine/onnx-backbone';

/** Same rule as the web server's library (apps/web/server/backbones/library.ts). */
export const BACKBONE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.onnx$/;

export interface BackboneDeps {
  /** The runner's DATA_DIR/backbones. */
  backbonesDir: string;
  /** Called before the file is read (cluster mode: fetch it from the artifact store). */
  ensureBackbone?: (name: string, file: string) => Promise<void>;
}

/** What the library page and the editor show of a file; `measure` adds images/s. */
export interface BackboneInspection {
  name: string;
  bytes: number;
  params: number;
  opset: number;
  settings: { inputSize: number; layout: string; normalization: string; cut: string };
  cutPoints: { name: string; label: string; featureShape: number[] }[];
}

export interface BackboneMeasurement {
  name: string;
  imagesPerSecond: number;
  cut: string;
  threads: number;
}

export class BackboneError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
    this.name = 'BackboneError';
  }
}

export function backbonesDirOf(dataDir: string): string {
  return path.join(dataDir, BACKBONES_DIR);
}

async function backboneFile(deps: BackboneDeps, name: string): Promise<string> {
  if (!BACKBONE_NAME_RE.test(name)) {
    throw new BackboneError(400, `Backbone name "${name}" is not valid: 1-64 letters, digits, ".", "_" or "-" ending in .onnx`);
  }
  let file: string;
  try {
    file = resolveInsideRoot(deps.backbonesDir, name);
  } catch (err) {
    if (err instanceof PathOutsideRootError) throw new BackboneError(400, `Backbone ${name}: ${err.message}`);
    throw err;
  }
  await deps.ensureBackbone?.(name, file);
  if (!(await stat(file).catch(() => null))?.isFile()) throw new BackboneError(404, `No backbone "${name}" in the runner's library`);
  return file;
}

/** Inspections by file identity (path, size, mtime, sidecar mtime): a re-upload or new settings inspect again. */
const inspected = new Map<string, Promise<OnnxBackboneInfo>>();
const INSPECTED_MAX = 256;

async function identity(file: string): Promise<string> {
  const [a, b] = await Promise.all([stat(file), stat(`${file}.json`).catch(() => null)]);
  return `${file}|${a.size}|${a.mtimeMs}|${b?.mtimeMs ?? 0}`;
}

export async function inspectBackbone(deps: BackboneDeps, name: string): Promise<BackboneInspection> {
  const file = await backboneFile(deps, name);
  const key = await identity(file);
  let pending = inspected.get(key);
  if (!pending) {
    pending = inspectOnnxBackbone(file);
    pending.catch(() => inspected.delete(key));
    inspected.set(key, pending);
    if (inspected.size > INSPECTED_MAX) inspected.delete(inspected.keys().next().value as string);
  }
  const info = await pending;
  return {
    name,
    bytes: info.bytes,
    params: info.params,
    opset: info.opset,
    settings: { inputSize: info.settings.inputSize, layout: info.settings.layout, normalization: info.settings.normalization, cut: info.settings.cut },
    cutPoints: info.cutPoints.map((p) => ({ name: p.name, label: p.label, featureShape: p.featureShape })),
  };
}

/** Images/s through ONNX Runtime on a few random images, one measurement at a time per runner. */
let measuring: Promise<unknown> = Promise.resolve();
export async function measureBackbone(deps: BackboneDeps, name: string, images: number): Promise<BackboneMeasurement> {
  const file = await backboneFile(deps, name);
  const run = measuring.then(() => measureOnnxFileThroughput(file, images));
  measuring = run.catch(() => undefined);
  return { name, ...(await run) };
}
