/**
 * Plain HTTP routes outside tRPC (binary responses):
 *   GET /api/images?dataset=<name>&path=<rel>[&thumb=<px>]   an image of a dataset
 *   GET /api/images?run=<runId>&id=<itemId>[&thumb=<px>]     a dataset item of a run (ids are relative to
 *                                                           the run's dataset folder, as in the report)
 *   GET /api/models/<id>/archive                            the exported model folder as .tar.gz
 *   GET /api/models/<id>/model.onnx                         the folder's ONNX export (uint8 NHWC in, probabilities out)
 *   GET /api/predictions/<id>/image[?thumb=<px>]            a prediction's kept image (DATA_DIR/predictions)
 * Every file path is resolved inside DATASETS_ROOT (images) or must be a registered model's folder inside
 * DATA_DIR/models (archives).
 * Thumbnails (and images converted for the browser) are rendered once and kept in a ThumbCache; every response
 * carries an ETag (source path + size + mtime), so a browser revalidates with a 304. Decoding refuses images
 * over IMAGE_MAX_PIXELS (header checked first, then sharp's own limit), a 422 naming the limit.
 */
import { createReadStream, type Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname } from 'node:path';
import type { Repositories } from '@defectflow/db';
import { IMAGE_MAX_PIXELS, ImageReadError, readImageHeader } from '@defectflow/engine/data';
import { isImageFile } from './datasets-fs.ts';
import { errorMessage, type Logger } from './log.ts';
import { archiveBaseName } from './model-names.ts';
import { PathOutsideRootError, resolveInsideRoot } from './paths.ts';
import type { PredictionLog } from './predictions/log.ts';
import { type ArtifactStore, localDirsStore, modelKeyPrefix } from './storage.ts';
import { tarGzStored } from './tar.ts';
import { type ThumbCache, thumbKey } from './thumb-cache.ts';

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
  '.tiff': 'image/tiff',
};
/** Formats browsers draw as-is; others are converted to PNG when sharp is available. */
const BROWSER_FORMATS = new Set(['.png', '.jpg', '.jpeg', '.gif', '.webp', '.bmp']);

export interface FileRoutesOptions {
  repo: Repositories;
  datasetsRoot: string;
  /** A model's archive is served only when its folder is inside this dir. */
  modelsDir: string;
  /** Where model folders are read (app.ts: the STORAGE_URL store); absent: modelsDir itself. */
  store?: ArtifactStore;
  log: Logger;
  /** Rendered thumbnails on disk; without one every thumbnail is rendered per request. */
  thumbs?: ThumbCache;
  /** Images of more pixels are not decoded (IMAGE_MAX_PIXELS). */
  maxPixels?: number;
  /** Serves /api/predictions/<id>/image (kept images of the prediction log). */
  predictionLog?: PredictionLog;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ error: message }));
}

type SharpFactory = typeof import('sharp')['default'];
let sharpPromise: Promise<SharpFactory | null> | undefined;
/** sharp is loaded on first use (native module; thumbnails simply fall back to the original without it). */
function loadSharp(): Promise<SharpFactory | null> {
  sharpPromise ??= import('sharp').then(
    (m) => (m.default ?? m) as unknown as SharpFactory,
    () => null,
  );
  return sharpPromise;
}

/** A PNG of `file` fitting `px` (0: full size), refused past `maxPixels` before anything is decoded. */
async function renderPng(sharp: SharpFactory, file: string, shown: string, px: number, maxPixels: number): Promise<Buffer> {
  try {
    await readImageHeader(file, { maxPixels }); // a header claiming 30000×30000 stops here, before any allocation
    const image = sharp(file, { limitInputPixels: maxPixels, autoOrient: true });
    return await (px ? image.resize(px, px, { fit: 'inside', withoutEnlargement: true }) : image).png().toBuffer();
  } catch (err) {
    const reason = err instanceof ImageReadError ? err.reason : errorMessage(err);
    const limit = /exceeds pixel limit/i.test(reason)
      ? `the image is over the image pixel limit of ${(maxPixels / 1e6).toFixed(1)} megapixels (IMAGE_MAX_PIXELS)`
      : reason;
    throw new HttpError(422, `image "${shown}" cannot be shown: ${limit}`);
  }
}

function etagOf(info: Stats, px: number): string {
  return `"${info.size.toString(36)}-${Math.floor(info.mtimeMs).toString(36)}-${px}"`;
}

/** The folder a run's item ids are relative to: the first dataset node's folder. */
async function runDatasetDirs(repo: Repositories, datasetsRoot: string, runId: string): Promise<string[]> {
  const run = await repo.runs.get(runId);
  if (!run) throw new HttpError(404, `run ${runId} does not exist`);
  const dirs: string[] = [];
  for (const node of run.graph.nodes) {
    if (node.type !== 'dataset' || typeof node.params.path !== 'string') continue;
    const resolved = resolveInsideRoot(datasetsRoot, node.params.path);
    const info = await stat(resolved).catch(() => null);
    if (info) dirs.push(info.isFile() ? dirname(resolved) : resolved); // a CSV manifest: ids are relative to its folder
  }
  return dirs;
}

/** The file of item `itemId` of run `runId`'s dataset (the heat map of the enlarged view reads it too). */
export async function runImageFile(repo: Repositories, datasetsRoot: string, runId: string, itemId: string): Promise<string> {
  const dirs = await runDatasetDirs(repo, datasetsRoot, runId);
  for (const dir of dirs) {
    const file = resolveInsideRoot(datasetsRoot, resolveInsideRoot(dir, itemId));
    if (!isImageFile(file)) throw new HttpError(400, `not an image file: ${itemId}`);
    if ((await stat(file).catch(() => null))?.isFile()) return file;
  }
  throw new HttpError(404, `image not found: ${itemId}`);
}

async function resolveImage(url: URL, opts: FileRoutesOptions): Promise<{ file: string; shown: string }> {
  const dataset = url.searchParams.get('dataset');
  const rel = url.searchParams.get('path');
  const runId = url.searchParams.get('run');
  const itemId = url.searchParams.get('id');
  let candidates: string[];
  if (dataset !== null && rel !== null) {
    const dir = resolveInsideRoot(opts.datasetsRoot, dataset);
    candidates = [resolveInsideRoot(opts.datasetsRoot, resolveInsideRoot(dir, rel))];
  } else if (runId !== null && itemId !== null) {
    const dirs = await runDatasetDirs(opts.repo, opts.datasetsRoot, runId);
    candidates = dirs.map((dir) => resolveInsideRoot(opts.datasetsRoot, resolveInsideRoot(dir, itemId)));
  } else {
    throw new HttpError(400, 'use /api/images?dataset=<name>&path=<relative path> or ?run=<runId>&id=<item id>');
  }
  for (const file of candidates) {
    if (!isImageFile(file)) throw new HttpError(400, `not an image file: ${rel ?? itemId}`);
    const info = await stat(file).catch(() => null);
    if (info?.isFile()) return { file, shown: rel ?? itemId ?? '' };
  }
  throw new HttpError(404, `image not found: ${rel ?? itemId}`);
}

async function serveImage(req: IncomingMessage, res: ServerResponse, url: URL, opts: FileRoutesOptions): Promise<void> {
  const { file, shown } = await resolveImage(url, opts);
  await sendImageFile(req, res, url, file, shown, opts);
}

/** A kept image of the prediction log (confined to DATA_DIR/predictions by the log's imageFile). */
async function servePredictionImage(req: IncomingMessage, res: ServerResponse, url: URL, id: string, opts: FileRoutesOptions): Promise<void> {
  const log = opts.predictionLog;
  if (!log) throw new HttpError(404, 'the prediction log is not available');
  const row = await opts.repo.predictions.get(id);
  if (!row) throw new HttpError(404, `prediction ${id} does not exist`);
  const file = await log.localImage(row);
  if (!file) throw new HttpError(404, `prediction ${id}: its image was not kept (or was dropped by the image budget)`);
  await sendImageFile(req, res, url, file, row.imageName, opts);
}

/** The image file, or its thumbnail (`?thumb=px`), with an ETag; formats browsers cannot draw are sent as PNG. */
async function sendImageFile(req: IncomingMessage, res: ServerResponse, url: URL, file: string, shown: string, opts: FileRoutesOptions): Promise<void> {
  const ext = extname(file).toLowerCase();
  const thumbParam = url.searchParams.get('thumb');
  const thumb = thumbParam ? Number.parseInt(thumbParam, 10) : 0;
  if (thumbParam && !(thumb >= 8 && thumb <= 2048)) throw new HttpError(400, 'thumb must be a size in pixels, 8 to 2048');
  const info = await stat(file);
  const etag = etagOf(info, thumb);
  const headers = { 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff', etag };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers);
    res.end();
    return;
  }
  if (thumb || !BROWSER_FORMATS.has(ext)) {
    const sharp = await loadSharp();
    if (sharp) {
      const maxPixels = opts.maxPixels ?? IMAGE_MAX_PIXELS;
      const render = () => renderPng(sharp, file, shown, thumb, maxPixels);
      const key = thumbKey({ file, size: info.size, mtimeMs: info.mtimeMs, px: thumb });
      const png = opts.thumbs ? await opts.thumbs.get(key, render) : await render();
      res.writeHead(200, { ...headers, 'content-type': 'image/png', 'content-length': png.length });
      res.end(req.method === 'HEAD' ? undefined : png);
      return;
    }
  }
  res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'content-length': info.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).on('error', (err) => sendError(res, 500, errorMessage(err))).pipe(res);
}

async function serveModelArchive(res: ServerResponse, modelId: string, opts: FileRoutesOptions, store: ArtifactStore): Promise<void> {
  const model = await opts.repo.models.get(modelId);
  if (!model) throw new HttpError(404, `model ${modelId} does not exist`);
  const prefix = modelKeyPrefix(opts.modelsDir, model);
  const objects = await store.list(prefix);
  if (objects.length === 0) throw new HttpError(410, `model ${modelId}: its folder ${model.dir} is gone`);
  const base = archiveBaseName(model); // `<model-name>-<short id>`
  res.writeHead(200, {
    'content-type': 'application/gzip',
    'content-disposition': `attachment; filename="${base}.tar.gz"`,
    'cache-control': 'no-store',
  });
  const stream = tarGzStored(store, objects, prefix, base);
  stream.on('error', (err) => {
    opts.log.error(`model archive ${modelId} failed: ${errorMessage(err)}`);
    res.destroy(err);
  });
  stream.pipe(res);
}

/** Why a model folder has no model.onnx, from its defectflow.json (`onnx.reason`); null when it says nothing. */
async function onnxMissingReason(store: ArtifactStore, prefix: string): Promise<string | null> {
  try {
    const raw = await store.get(`${prefix}defectflow.json`);
    if (!raw) return null;
    const meta = JSON.parse(raw.toString('utf8')) as { onnx?: { available?: boolean; reason?: string } };
    if (meta.onnx && meta.onnx.available === false && typeof meta.onnx.reason === 'string') return meta.onnx.reason;
    return meta.onnx ? null : 'the model was deployed before ONNX export existed; deploy it again to get one';
  } catch {
    return null;
  }
}

async function serveModelOnnx(req: IncomingMessage, res: ServerResponse, modelId: string, opts: FileRoutesOptions, store: ArtifactStore): Promise<void> {
  const model = await opts.repo.models.get(modelId);
  if (!model) throw new HttpError(404, `model ${modelId} does not exist`);
  const prefix = modelKeyPrefix(opts.modelsDir, model);
  const objects = await store.list(prefix);
  // Listings hold regular files only: a model.onnx that is a symlink (pointing anywhere) is not served.
  const onnx = objects.find((o) => o.key === `${prefix}model.onnx`);
  if (!onnx) {
    const reason = await onnxMissingReason(store, prefix);
    throw new HttpError(404, `model ${modelId} has no ONNX export${reason ? `: ${reason}` : ''}`);
  }
  res.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${archiveBaseName(model)}.onnx"`,
    'content-length': onnx.size,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const body = await store.getStream(onnx.key);
  if (!body) {
    res.destroy(new Error(`${onnx.key} vanished from ${store.describe()}`));
    return;
  }
  body.on('error', (err) => res.destroy(err)).pipe(res);
}

/** Returns a handler that answers our routes and returns false for anything else. */
export function createFileRoutes(opts: FileRoutesOptions) {
  const store = opts.store ?? localDirsStore({ modelsDir: opts.modelsDir });
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const archive = /^\/api\/models\/([^/]+)\/archive\/?$/.exec(url.pathname);
    const onnx = /^\/api\/models\/([^/]+)\/model\.onnx$/.exec(url.pathname);
    const predictionImage = /^\/api\/predictions\/([^/]+)\/image$/.exec(url.pathname);
    if (url.pathname !== '/api/images' && !archive && !onnx && !predictionImage) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'only GET');
      return true;
    }
    try {
      if (archive) await serveModelArchive(res, decodeURIComponent(archive[1]!), opts, store);
      else if (onnx) await serveModelOnnx(req, res, decodeURIComponent(onnx[1]!), opts, store);
      else if (predictionImage) await servePredictionImage(req, res, url, decodeURIComponent(predictionImage[1]!), opts);
      else await serveImage(req, res, url, opts);
    } catch (err) {
      if (err instanceof HttpError) sendError(res, err.status, err.message);
      else if (err instanceof PathOutsideRootError) sendError(res, 403, err.message);
      else {
        opts.log.error(`${url.pathname}: ${errorMessage(err)}`);
        sendError(res, 500, errorMessage(err));
      }
    }
    return true;
  };
}
