/**
 * Imported ONNX backbones (ResNet, EfficientNet, ViT … exported from torchvision/timm): settings from
 * a sidecar JSON next to the file and the node's params, cut points listed from the graph itself
 * (shapes from one ONNX Runtime run with every tensor exposed), and a frozen extractor that is the
 * graph cut at the chosen tensor with the preprocessing in front (onnx/onnx-edit.ts). Frozen-only:
 * nothing of the graph is trained.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  IMAGENET_MEAN,
  IMAGENET_STD,
  ONNX_LAYOUTS,
  ONNX_NORMALIZATIONS,
  type OnnxLayout,
  type OnnxNormalization,
} from '../constants.ts';
import { type ImageFit, fitSignature, normalizeFit } from '../data/fit.ts';
import { type ChannelAffine, cutOnnxModel, exposeAllTensors, imageInputOf } from '../onnx/onnx-edit.ts';
import { OnnxReadError, type ParsedOnnxModel, countOnnxParams, parseOnnxModel } from '../onnx/onnx-read.ts';
import type { FeatureExtractor, FrozenGraph, OrtModule } from '../onnx/runtime-types.ts';
import type { Backbone } from './backbone.ts';

export interface OnnxBackboneSettings {
  inputSize: number;
  layout: OnnxLayout;
  normalization: OnnxNormalization;
  /** Per RGB channel, on the 0..1 scale (normalization 'meanstd'; 'imagenet' uses IMAGENET_MEAN/STD). */
  mean: [number, number, number];
  std: [number, number, number];
  /** Tensor the extractor ends at; '' = the last 4-D feature map of the graph. */
  cut: string;
}

/** What a sidecar `<file>.json` may hold (every field optional). */
export type OnnxSidecar = Partial<OnnxBackboneSettings>;

export function sidecarPath(onnxFile: string): string {
  return `${onnxFile}.json`;
}

const triple = (v: unknown): v is [number, number, number] => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x));

/** Checks a sidecar's fields; throws naming the file and the field. */
export function checkSidecar(value: unknown, where: string): OnnxSidecar {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${where}: must be a JSON object`);
  const s = value as Record<string, unknown>;
  const out: OnnxSidecar = {};
  for (const key of Object.keys(s))
    if (!['inputSize', 'layout', 'normalization', 'mean', 'std', 'cut'].includes(key)) throw new Error(`${where}: unknown field "${key}"`);
  if (s.inputSize !== undefined) {
    if (!Number.isInteger(s.inputSize) || (s.inputSize as number) < 16 || (s.inputSize as number) > 1024) throw new Error(`${where}: inputSize must be an integer 16..1024`);
    out.inputSize = s.inputSize as number;
  }
  if (s.layout !== undefined) {
    if (!ONNX_LAYOUTS.includes(s.layout as OnnxLayout)) throw new Error(`${where}: layout must be one of ${ONNX_LAYOUTS.join(', ')}`);
    out.layout = s.layout as OnnxLayout;
  }
  if (s.normalization !== undefined) {
    if (!ONNX_NORMALIZATIONS.includes(s.normalization as OnnxNormalization)) throw new Error(`${where}: normalization must be one of ${ONNX_NORMALIZATIONS.join(', ')}`);
    out.normalization = s.normalization as OnnxNormalization;
  }
  for (const key of ['mean', 'std'] as const) {
    if (s[key] === undefined) continue;
    if (!triple(s[key])) throw new Error(`${where}: ${key} must be three numbers (R, G, B on the 0..1 scale)`);
    if (key === 'std' && (s.std as number[]).some((v) => v <= 0)) throw new Error(`${where}: std values must be > 0`);
    out[key] = s[key] as [number, number, number];
  }
  if (s.cut !== undefined) {
    if (typeof s.cut !== 'string') throw new Error(`${where}: cut must be a tensor name`);
    out.cut = s.cut;
  }
  return out;
}

export async function readSidecar(onnxFile: string): Promise<OnnxSidecar> {
  const file = sidecarPath(onnxFile);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    return {};
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  return checkSidecar(json, file);
}

export async function writeSidecar(onnxFile: string, sidecar: OnnxSidecar): Promise<void> {
  const checked = checkSidecar(sidecar, sidecarPath(onnxFile));
  const tmp = `${sidecarPath(onnxFile)}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${JSON.stringify(checked, null, 2)}\n`);
  await fs.rename(tmp, sidecarPath(onnxFile));
}

/** Layout and spatial size the graph's input declares (null where it leaves them open). */
function declaredInput(model: ParsedOnnxModel, what: string): { layout: OnnxLayout | null; size: number | null } {
  const { dims } = imageInputOf(model, what);
  const [, d1, d2, d3] = dims;
  const layout = d1 === 3 ? 'NCHW' : d3 === 3 ? 'NHWC' : null;
  const hw = layout === 'NHWC' ? [d1, d2] : [d2, d3];
  const size = typeof hw[0] === 'number' && hw[0] > 0 && hw[0] === hw[1] ? hw[0] : null;
  return { layout, size };
}

/** Sidecar and explicit settings over what the graph declares, over the defaults (224, NCHW, imagenet). */
export function resolveOnnxSettings(
  model: ParsedOnnxModel,
  sidecar: OnnxSidecar,
  explicit: Partial<OnnxBackboneSettings>,
  what: string,
  /** Used when neither the graph, the sidecar nor `explicit` fix the size (the node's inputSize). */
  fallbackSize = 224,
): OnnxBackboneSettings {
  const declared = declaredInput(model, what);
  const pick = <K extends keyof OnnxBackboneSettings>(k: K, fallback: OnnxBackboneSettings[K]): OnnxBackboneSettings[K] => explicit[k] ?? sidecar[k] ?? fallback;
  const settings: OnnxBackboneSettings = {
    inputSize: declared.size ?? pick('inputSize', fallbackSize),
    layout: pick('layout', declared.layout ?? 'NCHW'),
    normalization: pick('normalization', 'imagenet'),
    mean: pick('mean', [...IMAGENET_MEAN]),
    std: pick('std', [...IMAGENET_STD]),
    cut: pick('cut', ''),
  };
  const wanted = explicit.inputSize ?? sidecar.inputSize;
  if (declared.size && wanted && wanted !== declared.size)
    throw new Error(`${what}: the graph takes ${declared.size}×${declared.size} images; inputSize ${wanted} cannot be used (re-export with dynamic height/width to change it)`);
  return settings;
}

/** The per-channel affine map from 0..255 pixels to what the graph expects. */
export function normalizationAffine(s: Pick<OnnxBackboneSettings, 'normalization' | 'mean' | 'std'>): ChannelAffine {
  if (s.normalization === 'raw') return { scale: [1, 1, 1], offset: [0, 0, 0] };
  if (s.normalization === 'unit') return { scale: [1 / 255, 1 / 255, 1 / 255], offset: [0, 0, 0] };
  const mean = s.normalization === 'imagenet' ? IMAGENET_MEAN : s.mean;
  const std = s.normalization === 'imagenet' ? IMAGENET_STD : s.std;
  const idx = [0, 1, 2] as const;
  return {
    scale: idx.map((i) => 1 / (255 * (std[i] as number))) as [number, number, number],
    offset: idx.map((i) => -(mean[i] as number) / (std[i] as number)) as [number, number, number],
  };
}

export interface OnnxCutPoint {
  /** Tensor name in the graph. */
  name: string;
  /** Shape without the batch, in the graph's layout (C×H×W for NCHW). */
  shape: number[];
  /** The feature map the heads see: [H, W, C]. */
  featureShape: [number, number, number];
  /** e.g. "layer3 → 1024×14×14". */
  label: string;
}

export interface OnnxBackboneInfo {
  file: string;
  bytes: number;
  /** sha256 of the file, first 16 hex digits: part of every feature-cache key. */
  hash: string;
  params: number;
  opset: number;
  input: { name: string; dims: (number | string | null)[] };
  settings: OnnxBackboneSettings;
  cutPoints: OnnxCutPoint[];
}

/** onnxruntime-node itself (not onnx/runtime.ts, which loads TensorFlow.js): the web server inspects files with this module. */
async function loadRuntime(): Promise<OrtModule> {
  const mod = (await import(/* @vite-ignore */ 'onnxruntime-node')) as OrtModule & { default?: OrtModule };
  const ort = mod.InferenceSession ? mod : mod.default;
  if (!ort?.InferenceSession) throw new Error('onnxruntime-node loaded but exports no InferenceSession');
  return ort;
}

async function readOnnxFile(file: string): Promise<{ bytes: Uint8Array; model: ParsedOnnxModel; hash: string }> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(file));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OnnxReadError(`ONNX backbone ${file}: ${code === 'ENOENT' ? 'no such file' : err instanceof Error ? err.message : String(err)}`);
  }
  const model = parseOnnxModel(bytes, `ONNX backbone ${path.basename(file)}`);
  return { bytes, model, hash: createHash('sha256').update(bytes).digest('hex').slice(0, 16) };
}

/**
 * Every 4-D float tensor of the graph, in graph order, with its shape: the graph is run once on a
 * black image with all node outputs exposed (value_info is not trusted: exporters often omit it).
 */
export async function listCutPoints(model: ParsedOnnxModel, settings: Pick<OnnxBackboneSettings, 'inputSize' | 'layout'>, what = 'ONNX model'): Promise<OnnxCutPoint[]> {
  const exposed = exposeAllTensors(model, settings, what);
  const ort = await loadRuntime();
  const session = await ort.InferenceSession.create(exposed.bytes, { graphOptimizationLevel: 'disabled', executionProviders: ['cpu'] });
  try {
    const size = settings.inputSize;
    const result = await session.run({ [exposed.inputName]: new ort.Tensor('float32', new Float32Array(size * size * 3), [1, size, size, 3]) });
    const points: OnnxCutPoint[] = [];
    for (const name of exposed.tensors) {
      const t = result[name];
      if (t?.dims.length !== 4 || !(t.data instanceof Float32Array)) continue;
      const shape = t.dims.slice(1) as number[];
      const [a, b, c] = shape as [number, number, number];
      const featureShape: [number, number, number] = settings.layout === 'NCHW' ? [b, c, a] : [a, b, c];
      points.push({ name, shape, featureShape, label: `${name} → ${shape.join('×')}` });
    }
    return points;
  } finally {
    await session.release();
  }
}

/** What the library page and the editor show of an ONNX file: params, input, settings, cut points. */
export async function inspectOnnxBackbone(file: string, explicit: Partial<OnnxBackboneSettings> = {}): Promise<OnnxBackboneInfo> {
  const { bytes, model, hash } = await readOnnxFile(file);
  const what = `ONNX backbone ${path.basename(file)}`;
  const settings = resolveOnnxSettings(model, await readSidecar(file), explicit, what);
  const cutPoints = await listCutPoints(model, settings, what);
  return { file, bytes: bytes.length, hash, params: countOnnxParams(model), opset: model.opset, input: imageInputOf(model, what), settings, cutPoints };
}

/**
 * Images per second of an ONNX file cut at its (sidecar or last) cut point, in ONNX Runtime on this
 * machine: `count` random images in batches of 8 after one warm-up batch. TensorFlow.js-free (web server).
 */
export async function measureOnnxFileThroughput(file: string, count = 16): Promise<{ imagesPerSecond: number; cut: string; threads: number }> {
  const { model } = await readOnnxFile(file);
  const what = `ONNX backbone ${path.basename(file)}`;
  const settings = resolveOnnxSettings(model, await readSidecar(file), {}, what);
  const cut = settings.cut || (await listCutPoints(model, settings, what)).at(-1)?.name;
  if (!cut) throw new Error(`${what} has no 4-D feature map to cut at`);
  const edited = cutOnnxModel(model, { cut, inputSize: settings.inputSize, layout: settings.layout, normalization: normalizationAffine(settings), pool: 'avg' }, what);
  const ort = await loadRuntime();
  const threads = os.cpus().length;
  const session = await ort.InferenceSession.create(edited.bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: threads, executionProviders: ['cpu'] });
  try {
    const batch = 8;
    const s = settings.inputSize;
    const data = Float32Array.from({ length: batch * s * s * 3 }, (_, i) => (i * 2654435761) % 256);
    const feed = () => ({ [edited.inputName]: new ort.Tensor('float32', data, [batch, s, s, 3]) });
    await session.run(feed());
    const started = performance.now();
    let done = 0;
    while (done < count) {
      await session.run(feed());
      done += batch;
    }
    return { imagesPerSecond: done / ((performance.now() - started) / 1000), cut, threads };
  } finally {
    await session.release();
  }
}

/** Images per second through the cut graph in ONNX Runtime on `count` random images (batch 8). */
export async function measureOnnxThroughput(backbone: Backbone, count = 16): Promise<number> {
  const graph = backbone.onnx?.graph;
  if (!graph) throw new Error('measureOnnxThroughput: not an ONNX backbone');
  const fx = await graph.extractor({ pool: 'avg', threads: os.cpus().length, spin: true });
  const [h, w, c] = graph.inputShape as [number, number, number];
  const batch = 8;
  const data = Float32Array.from({ length: batch * h * w * c }, (_, i) => (i * 2654435761) % 256);
  await fx.run(data, batch); // warm-up: the first run allocates
  const started = performance.now();
  let done = 0;
  while (done < count) {
    await fx.run(data, batch);
    done += batch;
  }
  return done / ((performance.now() - started) / 1000);
}

/** The cut graph as a FrozenGraph: one memoised ORT session per pooling. */
class OnnxCutGraph implements FrozenGraph {
  readonly kind = 'onnx-graph' as const;
  private readonly extractors = new Map<string, Promise<FeatureExtractor>>();

  constructor(
    private readonly model: ParsedOnnxModel,
    private readonly settings: OnnxBackboneSettings,
    readonly inputShape: number[],
    readonly outputShape: number[],
    private readonly what: string,
  ) {}

  extractor(options: { pool: 'avg' | 'max' | 'avgmax' | null; threads: number; spin: boolean }): Promise<FeatureExtractor> {
    const key = JSON.stringify(options);
    let fx = this.extractors.get(key);
    if (!fx) {
      fx = (async () => {
        const edited = cutOnnxModel(
          this.model,
          { cut: this.settings.cut, inputSize: this.settings.inputSize, layout: this.settings.layout, normalization: normalizationAffine(this.settings), pool: options.pool },
          this.what,
        );
        const c = this.outputShape[2] as number;
        const outputShape = options.pool ? [options.pool === 'avgmax' ? 2 * c : c] : this.outputShape;
        const { extractorFromOnnxBytes } = await import('../onnx/runtime.ts');
        return extractorFromOnnxBytes({ ...edited, inputShape: this.inputShape, outputShape }, { threads: options.threads, spin: options.spin });
      })();
      fx.catch(() => this.extractors.delete(key));
      this.extractors.set(key, fx);
    }
    return fx;
  }

  /** Stops the sessions (worker threads) of this graph. */
  async release(): Promise<void> {
    const all = [...this.extractors.values()];
    this.extractors.clear();
    await Promise.allSettled(all.map((p) => p.then((fx) => fx.dispose())));
  }
}

/** What an ONNX Backbone carries besides the common fields. */
export interface OnnxBackbonePart {
  file: string;
  hash: string;
  params: number;
  settings: OnnxBackboneSettings;
  cutPoints: OnnxCutPoint[];
  /** The parsed graph (for export: cut again with the head behind it). */
  model: ParsedOnnxModel;
  graph: FrozenGraph & { release(): Promise<void> };
}

export interface LoadOnnxBackboneOptions extends Partial<OnnxBackboneSettings> {
  onnxFile: string;
  /** Input size when the graph, the sidecar and `inputSize` leave it open (the backbone node's inputSize). */
  fallbackInputSize?: number;
  fit?: ImageFit;
}

/** An ONNX file as a (frozen-only) Backbone cut at `cut` (default: the graph's last 4-D map). */
export async function loadOnnxBackbone(options: LoadOnnxBackboneOptions): Promise<Backbone> {
  const file = options.onnxFile;
  const what = `ONNX backbone ${path.basename(file)}`;
  const fit = normalizeFit({ fit: options.fit });
  if (fit.fit === 'tiles') throw new Error(`${what}: fit "tiles" is not available for ONNX backbones (use stretch or letterbox)`);
  const { model, hash } = await readOnnxFile(file);
  const explicit: Partial<OnnxBackboneSettings> = {};
  for (const k of ['inputSize', 'layout', 'normalization', 'mean', 'std', 'cut'] as const) if (options[k] !== undefined && options[k] !== '') (explicit as Record<string, unknown>)[k] = options[k];
  const settings = resolveOnnxSettings(model, await readSidecar(file), explicit, what, options.fallbackInputSize);
  const cutPoints = await listCutPoints(model, settings, what);
  if (cutPoints.length === 0) throw new Error(`${what} has no 4-D feature map to cut at`);
  const cut = settings.cut ? cutPoints.find((p) => p.name === settings.cut) : cutPoints[cutPoints.length - 1];
  if (!cut) {
    const named = cutPoints.filter((p) => !p.name.startsWith('/')).map((p) => p.name);
    throw new Error(`${what} has no 4-D feature map named "${settings.cut}" (cut point); try one of ${(named.length ? named : cutPoints.map((p) => p.name)).slice(-8).join(', ')}`);
  }
  const resolved = { ...settings, cut: cut.name };
  const size = resolved.inputSize;
  const graph = new OnnxCutGraph(model, resolved, [size, size, 3], cut.featureShape, what);
  const params = countOnnxParams(model);
  const norm = resolved.normalization === 'meanstd' ? `meanstd(${resolved.mean.join(',')}/${resolved.std.join(',')})` : resolved.normalization;
  const partial: Omit<Backbone, 'describe'> = {
    source: 'onnx',
    model: null,
    topology: null,
    inputSize: size,
    preprocessing: 'none',
    fit,
    cutAt: cut.name,
    blockNames: cutPoints.map((p) => p.name),
    outputShape: [...cut.featureShape],
    signature: `onnx-${hash}|${size}|${cut.name}|${resolved.layout}|${norm}${fitSignature(fit)}`,
    onnx: { file, hash, params, settings: resolved, cutPoints, model, graph },
  };
  return {
    ...partial,
    describe: () =>
      `ONNX backbone ${path.basename(file)} (${(params / 1e6).toFixed(2)} M parameters, opset ${model.opset}, frozen in ONNX Runtime). Input ${size}×${size} ${resolved.layout}, normalisation ${norm}, cut at ${cut.label}, features ${cut.featureShape.join('×')}.`,
  };
}
