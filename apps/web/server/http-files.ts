/**
 * Plain HTTP routes outside tRPC (binary responses):
 *   GET /api/images?dataset=<name>&path=<rel>[&thumb=<px>]   an image of a dataset
 *   GET /api/images?run=<runId>&id=<itemId>[&thumb=<px>]     a dataset item of a run (ids are relative to
 *                                                           the run's dataset folder, as in the report)
 *   GET /api/models/<id>/archive                            the exported model folder as .tar.gz
 * Every file path is resolved inside DATASETS_ROOT (images) or must be a registered model's folder inside
 * DATA_DIR/models (archives).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, extname } from 'node:path';
import type { Repositories } from '@defectflow/db';
import { isImageFile } from './datasets-fs.ts';
import { errorMessage, type Logger } from './log.ts';
import { modelDirInside, PathOutsideRootError, resolveInsideRoot } from './paths.ts';
import { tarGzDirectory } from './tar.ts';

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
  log: Logger;
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

type SharpFactory = (input: string) => {
  resize(w: number, h: number, o: { fit: 'inside'; withoutEnlargement: boolean }): { png(): { toBuffer(): Promise<Buffer> } };
  png(): { toBuffer(): Promise<Buffer> };
};
let sharpPromise: Promise<SharpFactory | null> | undefined;
/** sharp is loaded on first use (native module; thumbnails simply fall back to the original without it). */
function loadSharp(): Promise<SharpFactory | null> {
  sharpPromise ??= import('sharp').then(
    (m) => (m.default ?? m) as unknown as SharpFactory,
    () => null,
  );
  return sharpPromise;
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

async function resolveImage(url: URL, opts: FileRoutesOptions): Promise<string> {
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
    if (info?.isFile()) return file;
  }
  throw new HttpError(404, `image not found: ${rel ?? itemId}`);
}

async function serveImage(req: IncomingMessage, res: ServerResponse, url: URL, opts: FileRoutesOptions): Promise<void> {
  const file = await resolveImage(url, opts);
  const ext = extname(file).toLowerCase();
  const thumbParam = url.searchParams.get('thumb');
  const thumb = thumbParam ? Number.parseInt(thumbParam, 10) : 0;
  if (thumbParam && !(thumb >= 8 && thumb <= 2048)) throw new HttpError(400, 'thumb must be a size in pixels, 8 to 2048');
  const headers = { 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' };
  if (thumb || !BROWSER_FORMATS.has(ext)) {
    const sharp = await loadSharp();
    if (sharp) {
      const image = sharp(file);
      const png = await (thumb ? image.resize(thumb, thumb, { fit: 'inside', withoutEnlargement: true }) : image).png().toBuffer();
      res.writeHead(200, { ...headers, 'content-type': 'image/png', 'content-length': png.length });
      res.end(req.method === 'HEAD' ? undefined : png);
      return;
    }
  }
  const info = await stat(file);
  res.writeHead(200, { ...headers, 'content-type': CONTENT_TYPES[ext] ?? 'application/octet-stream', 'content-length': info.size });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).on('error', (err) => sendError(res, 500, errorMessage(err))).pipe(res);
}

async function serveModelArchive(res: ServerResponse, modelId: string, opts: FileRoutesOptions): Promise<void> {
  const model = await opts.repo.models.get(modelId);
  if (!model) throw new HttpError(404, `model ${modelId} does not exist`);
  const dir = modelDirInside(opts.modelsDir, model);
  const info = await stat(dir).catch(() => null);
  if (!info?.isDirectory()) throw new HttpError(410, `model ${modelId}: its folder ${model.dir} is gone`);
  const base = `${model.name.replace(/[^A-Za-z0-9_.-]+/g, '-')}-${model.id}`.slice(0, 120);
  res.writeHead(200, {
    'content-type': 'application/gzip',
    'content-disposition': `attachment; filename="${base}.tar.gz"`,
    'cache-control': 'no-store',
  });
  const stream = tarGzDirectory(dir, base);
  stream.on('error', (err) => {
    opts.log.error(`model archive ${modelId} failed: ${errorMessage(err)}`);
    res.destroy(err);
  });
  stream.pipe(res);
}

/** Returns a handler that answers our routes and returns false for anything else. */
export function createFileRoutes(opts: FileRoutesOptions) {
  return async (req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> => {
    const archive = /^\/api\/models\/([^/]+)\/archive\/?$/.exec(url.pathname);
    if (url.pathname !== '/api/images' && !archive) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendError(res, 405, 'only GET');
      return true;
    }
    try {
      if (archive) await serveModelArchive(res, decodeURIComponent(archive[1]!), opts);
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
