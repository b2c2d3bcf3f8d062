/**
 * Dataset uploads over plain HTTP (request bodies are streamed to disk, never buffered):
 *   GET    /api/datasets/uploads/<id>                    → {archiveBytes, files}: what arrived (resume point)
 *   PUT    /api/datasets/uploads/<id>/archive?offset=<n> → appends a chunk of a zip at byte n (409 + size if n is wrong)
 *   PUT    /api/datasets/uploads/<id>/file?path=<rel>    → one file of a dropped folder, at its relative path
 *   POST   /api/datasets/uploads/<id>/finish?name=<name> → unpacks/validates, moves it to DATASETS_ROOT/<name>, version 1
 *   DELETE /api/datasets/uploads/<id>                    → drops the staging folder
 * The client picks the upload id (random); chunks make a large zip restartable after a dropped connection.
 * Staging lives in DATASETS_ROOT/.uploads/<id> (hidden from listings, same filesystem, so the final move is a rename).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Repositories } from '@defectflow/db';
import { errorMessage, type Logger } from '../log.ts';
import { resolveInsideRoot } from '../paths.ts';
import { ArchiveError, type ArchiveLimits, checkEntryName, DEFAULT_ARCHIVE_LIMITS, extractZipSafely, formatBytes } from './archive.ts';
import { inspectDataset } from './inspect.ts';
import { ensureRegistered } from './versions.ts';

export interface UploadLimits extends ArchiveLimits {
  /** Bytes of the uploaded zip itself, or of all files of a folder upload together. */
  maxUploadBytes: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { ...DEFAULT_ARCHIVE_LIMITS, maxUploadBytes: 2 * 1024 ** 3 };

export interface UploadRoutesOptions {
  datasetsRoot: string;
  repo: Repositories;
  log: Logger;
  limits?: Partial<UploadLimits>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const UPLOAD_ID_RE = /^[A-Za-z0-9-]{8,64}$/;

export function checkDatasetName(name: string | null): string {
  if (!name || !NAME_RE.test(name)) {
    throw new HttpError(
      400,
      `Dataset name "${name ?? ''}" is not valid: 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  return name;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  // A refused upload may leave its body half read (the stream was destroyed): do not reuse the connection.
  const close = status >= 400 ? { connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...close });
  res.end(JSON.stringify(body));
}

/** Counts bytes through a stream and fails past `max`. */
function limiter(max: number, what: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(new HttpError(413, `${what} is larger than the limit of ${formatBytes(max)}`));
      else cb(null, chunk);
    },
  });
}

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => null))?.size ?? 0;
}

async function listFiles(dir: string): Promise<{ count: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  const entries = await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []);
  for (const e of entries) {
    if (!e.isFile()) continue;
    count++;
    bytes += await sizeOf(join(e.parentPath, e.name));
  }
  return { count, bytes };
}

/** A zip of one folder ("steel/crazing/…") is unwrapped so the classes sit at the top. */
async function unwrapSingleFolder(dir: string): Promise<string> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => !e.name.startsWith('.') && e.name !== '__MACOSX');
  const [only] = entries;
  if (entries.length !== 1 || !only?.isDirectory()) return dir;
  const inner = join(dir, only.name);
  const innerEntries = await readdir(inner, { withFileTypes: true });
  // A single folder of images is one class of nothing: keep it; a folder of folders is the dataset itself.
  return innerEntries.some((e) => e.isDirectory() && !e.name.startsWith('.')) || innerEntries.some((e) => e.name.endsWith('.csv'))
    ? inner
    : dir;
}

export function createDatasetUploadRoutes(opts: UploadRoutesOptions) {
  const limits: UploadLimits = { ...DEFAULT_UPLOAD_LIMITS, ...opts.limits };
  const root = resolve(opts.datasetsRoot);
  const stagingRoot = join(root, '.uploads');

  const staging = (id: string) => {
    if (!UPLOAD_ID_RE.test(id)) throw new HttpError(400, `Upload id "${id}" is not valid (8-64 letters, digits or "-")`);
    return join(stagingRoot, id);
  };

  async function status(id: string) {
    const dir = staging(id);
    const files = await listFiles(join(dir, 'files'));
    return { archiveBytes: await sizeOf(join(dir, 'archive.zip')), files: files.count, fileBytes: files.bytes };
  }

  async function putArchive(req: IncomingMessage, id: string, url: URL) {
    const dir = staging(id);
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'archive.zip');
    const size = await sizeOf(file);
    const offset = Number(url.searchParams.get('offset') ?? '0');
    const declared = Number(req.headers['content-length'] ?? 0);
    if (size + declared > limits.maxUploadBytes) {
      throw new HttpError(413, `The upload is larger than the limit of ${formatBytes(limits.maxUploadBytes)}`);
    }
    if (offset !== size) throw new HttpError(409, `Upload ${id} has ${size} bytes; send the chunk at offset ${size}`, { size });
    await pipeline(req, limiter(limits.maxUploadBytes - size, 'The upload'), createWriteStream(file, { flags: 'a' }));
    return { size: await sizeOf(file) };
  }

  async function putFile(req: IncomingMessage, id: string, url: URL) {
    const rel = url.searchParams.get('path') ?? '';
    let parts: string[];
    try {
      parts = checkEntryName(rel);
    } catch (err) {
      throw new HttpError(400, (err as Error).message.replace('Archive entry', 'File'));
    }
    const dir = join(staging(id), 'files');
    let target: string;
    try {
      target = resolveInsideRoot(dir, parts.join('/'));
    } catch {
      throw new HttpError(400, `File "${rel}" escapes the upload folder`);
    }
    const now = await listFiles(dir);
    if (now.count >= limits.maxFiles) throw new HttpError(413, `Too many files: the limit is ${limits.maxFiles} per dataset`);
    await mkdir(dirname(target), { recursive: true });
    // Rewriting a file that arrived before is fine: a restarted folder upload just sends it again.
    await pipeline(req, limiter(limits.maxUploadBytes - now.bytes, 'The upload'), createWriteStream(target));
    return { files: now.count + 1 };
  }

  async function finish(id: string, url: URL) {
    const name = checkDatasetName(url.searchParams.get('name'));
    const dir = staging(id);
    const target = resolveInsideRoot(root, name);
    if (await stat(target).catch(() => null)) throw new HttpError(409, `A dataset named "${name}" already exists; choose another name`);
    const archive = join(dir, 'archive.zip');
    let content: string;
    if ((await sizeOf(archive)) > 0) {
      content = join(dir, 'extract');
      await rm(content, { recursive: true, force: true });
      try {
        await extractZipSafely(archive, content, limits);
      } catch (err) {
        await rm(content, { recursive: true, force: true });
        if (err instanceof ArchiveError) throw new HttpError(err.code === 'too_large' || err.code === 'too_many_files' ? 413 : 400, err.message);
        throw err;
      }
    } else if ((await listFiles(join(dir, 'files'))).count > 0) {
      content = join(dir, 'files');
    } else {
      throw new HttpError(400, `Upload ${id} has no data: send a zip or the files of a folder first`);
    }
    content = await unwrapSingleFolder(content);
    const rel = content.slice(root.length + 1).split(sep).join('/');
    // Validate before publishing: the loader must find images in at least two classes.
    try {
      await inspectDataset(root, rel, 0);
    } catch (err) {
      throw new HttpError(400, `The upload is not a usable dataset: ${errorMessage(err)}`);
    }
    try {
      await mkdir(target); // claims the name (EEXIST = someone else won); rename then replaces the empty folder
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new HttpError(409, `A dataset named "${name}" already exists; choose another name`);
      throw err;
    }
    try {
      await rename(content, target);
    } catch (err) {
      await rmdir(target).catch(() => undefined);
      throw err;
    }
    await rm(dir, { recursive: true, force: true });
    await ensureRegistered(opts.repo, root, name);
    const inspection = await inspectDataset(root, name, 0);
    opts.log.info(`dataset ${name} uploaded: ${inspection.total} images in ${inspection.classes.length} classes`);
    return {
      name,
      version: inspection.version,
      classes: inspection.classes,
      counts: inspection.counts,
      images: inspection.total,
      warnings: inspection.warnings.length,
    };
  }

  /** Handles /api/datasets/uploads/…; false for any other URL. */
  return async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const m = /^\/api\/datasets\/uploads\/([^/]+)(?:\/(archive|file|finish))?$/.exec(url.pathname);
    if (!m) return false;
    const id = decodeURIComponent(m[1] as string);
    const action = m[2];
    try {
      let body: unknown;
      if (req.method === 'GET' && !action) body = await status(id);
      else if (req.method === 'DELETE' && !action) {
        await rm(staging(id), { recursive: true, force: true });
        body = { deleted: true };
      } else if (req.method === 'PUT' && action === 'archive') body = await putArchive(req, id, url);
      else if (req.method === 'PUT' && action === 'file') body = await putFile(req, id, url);
      else if (req.method === 'POST' && action === 'finish') body = await finish(id, url);
      else throw new HttpError(405, `${req.method} is not supported on ${url.pathname}`);
      send(res, 200, body);
    } catch (err) {
      if (err instanceof HttpError) {
        send(res, err.status, { error: err.message, ...err.extra });
      } else {
        opts.log.error(`${req.method} ${url.pathname}: ${errorMessage(err)}`);
        send(res, 500, { error: errorMessage(err) });
      }
    }
    return true;
  };
}

