/**
 * The backbone library: imported ONNX backbones in DATA_DIR/backbones (one `<name>.onnx` each, settings
 * in the sidecar `<name>.onnx.json`). What the /backbones page and the editor's backbone node form show:
 * cut points with shapes, parameter count, input size, settings — computed by the runner (ONNX Runtime lives
 * there, not in the web server: `BackboneInspector`, predict-transport.ts), which remembers them per file content
 * so a page load does not run every graph again. The web server itself only lists files and writes sidecars.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BACKBONES_DIR } from '@defectflow/engine/constants';
import { type OnnxSidecar, readSidecar, writeSidecar } from '@defectflow/engine/onnx-backbone';
import { resolveInsideRoot } from '../paths.ts';
import type { BackboneInspection, BackboneInspector } from '../predict-transport.ts';

export const BACKBONE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}\.onnx$/;

export function backbonesRoot(dataDir: string): string {
  return join(dataDir, BACKBONES_DIR);
}

export class BackboneLibraryError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 413 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'BackboneLibraryError';
  }
}

export function checkBackboneName(name: string | null | undefined): string {
  if (!name || !BACKBONE_NAME_RE.test(name))
    throw new BackboneLibraryError(400, `Backbone name "${name ?? ''}" is not valid: 1-64 letters, digits, ".", "_" or "-" ending in .onnx`);
  return name;
}

/** The file of `name`, inside the library and existing. */
export async function backboneFile(dataDir: string, name: string): Promise<string> {
  const file = resolveInsideRoot(backbonesRoot(dataDir), checkBackboneName(name));
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) throw new BackboneLibraryError(404, `No backbone "${name}" in the library`);
  return file;
}

export interface BackboneSummary {
  name: string;
  bytes: number;
  params: number;
  opset: number;
  inputSize: number;
  layout: string;
  normalization: string;
  cut: string;
  cutPoints: { name: string; label: string; featureShape: number[] }[];
  /** Measured on this machine (throughput), null until asked for. */
  imagesPerSecond: number | null;
  /** Why the file could not be read; the other fields are then empty. */
  error: string | null;
}

/** Throughput measured on the runner, by file identity (path, size, mtime, sidecar mtime). */
const measured = new Map<string, number>();

async function identity(file: string): Promise<string> {
  const [a, b] = await Promise.all([stat(file), stat(`${file}.json`).catch(() => null)]);
  return `${file}|${a.size}|${a.mtimeMs}|${b?.mtimeMs ?? 0}`;
}

function summary(name: string, info: BackboneInspection, ips: number | null): BackboneSummary {
  return {
    name,
    bytes: info.bytes,
    params: info.params,
    opset: info.opset,
    inputSize: info.settings.inputSize,
    layout: info.settings.layout,
    normalization: info.settings.normalization,
    cut: info.settings.cut || (info.cutPoints.at(-1)?.name ?? ''),
    cutPoints: info.cutPoints,
    imagesPerSecond: ips,
    error: null,
  };
}

export async function describeBackbone(dataDir: string, name: string, inspector: BackboneInspector): Promise<BackboneSummary> {
  const file = await backboneFile(dataDir, name);
  try {
    return summary(name, await inspector.cutPoints(name), measured.get(await identity(file)) ?? null);
  } catch (err) {
    return { name, bytes: (await stat(file)).size, params: 0, opset: 0, inputSize: 0, layout: '', normalization: '', cut: '', cutPoints: [], imagesPerSecond: null, error: err instanceof Error ? err.message : String(err) };
  }
}

export async function listBackbones(dataDir: string, inspector: BackboneInspector): Promise<BackboneSummary[]> {
  const names = (await readdir(backbonesRoot(dataDir)).catch(() => [] as string[])).filter((n) => BACKBONE_NAME_RE.test(n)).sort();
  return Promise.all(names.map((n) => describeBackbone(dataDir, n, inspector)));
}

/** Saves the settings form as the sidecar; the cut must be one of the graph's cut points. */
export async function saveBackboneSettings(
  dataDir: string,
  name: string,
  settings: OnnxSidecar,
  inspector: BackboneInspector,
): Promise<BackboneSummary> {
  const file = await backboneFile(dataDir, name);
  const current = await readSidecar(file);
  const next = { ...current, ...settings };
  try {
    await writeSidecar(file, next);
    const info = await inspector.cutPoints(name);
    if (next.cut && !info.cutPoints.some((p) => p.name === next.cut)) {
      await writeSidecar(file, current);
      throw new Error(`"${next.cut}" is not a cut point of ${name}`);
    }
  } catch (err) {
    throw new BackboneLibraryError(400, `Backbone ${name}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return describeBackbone(dataDir, name, inspector);
}

/** Measures images/s through ONNX Runtime on the runner, a few random images (one measurement at a time there). */
export async function measureBackbone(dataDir: string, name: string, images: number, inspector: BackboneInspector): Promise<BackboneSummary> {
  const file = await backboneFile(dataDir, name);
  const result = await inspector.measure(name, images);
  measured.set(await identity(file), result.imagesPerSecond);
  return describeBackbone(dataDir, name, inspector);
}
