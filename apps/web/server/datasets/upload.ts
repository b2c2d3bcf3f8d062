/**
 * Dataset uploads over plain HTTP (request bodies are streamed to disk, never buffered):
 *   GET    /api/datasets/uploads/<id>                    → {archiveBytes, files}: what arrived (resume point)
 *   PUT    /api/datasets/uploads/<id>/archive?offset=<n> → appends a chunk of a zip at byte n (409 + size if n is wrong)
 *   PUT    /api/datasets/uploads/<id>/file?path=<rel>    → one file of a dropped folder, at its relative path
 *   POST   /api/datasets/uploads/<id>/finish?name=<name> → unpacks/validates, moves it to DATASETS_ROOT/<name>, version 1
 *   POST   /api/datasets/uploads/<id>/add?dataset=<name> → unpacks, adds its class folders to dataset <name> as its next
 *                                                          version ("Add images" on the dataset page; add-images.ts)
 *   DELETE /api/datasets/uploads/<id>                    → drops the staging folder
 * The client picks the upload id (random); chunks make a large zip restartable after a dropped connection.
 * Staging lives in DATASETS_ROOT/.uploads/<id> (hidden from listings, same filesystem, so the final move is a rename)
 * and is bounded by staging.ts: bytes per upload and in total, open uploads, one request per upload, idle expiry.
 * A request that makes an upload unusable (too large, unsafe or broken archive, not a dataset) deletes its
 * staging folder at once; a dropped connection keeps it so the client can resume.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Repositories } from '@defectflow/db';
import { isWorkInProgressName } from '../datasets-fs.ts';
import { errorMessage, type Logger } from '../log.ts';
import { resolveInsideRoot } from '../paths.ts';
import { addImagesToDataset } from './add-images.ts';
import { ArchiveError, type ArchiveLimits, checkEntryName, DEFAULT_ARCHIVE_LIMITS, extractZipSafely } from './archive.ts';
import { inspectDataset } from './inspect.ts';
import { ARCHIVE_FILE, EXTRACT_DIR, FILES_DIR, HttpError, StagingArea, type StagingLimits, type StagedUpload } from './staging.ts';
import { ensureRegistered } from './versions.ts';
import type { DatasetPublisher } from '../storage.ts';

/** Archive checks plus staging bounds; server/env.ts fills them from UPLOAD_* variables. */
export interface UploadLimits extends ArchiveLimits, StagingLimits {}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = {
  ...DEFAULT_ARCHIVE_LIMITS,
  maxUploadBytes: 2 * 1024 ** 3,
  maxStagingBytes: 8 * 1024 ** 3,
  maxOpen: 8,
  ttlMs: 60 * 60_000,
};

export interface UploadRoutesOptions {
  datasetsRoot: string;
  repo: Repositories;
  log: Logger;
  limits?: Partial<UploadLimits>;
  /** How often idle uploads are looked for (default: a quarter of the TTL, 1 s to 1 min). */
  sweepEveryMs?: number;
  /** Cluster mode: publishes an uploaded or extended dataset for runners on other machines (storage.ts). */
  publisher?: DatasetPublisher;
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
  if (isWorkInProgressName(name)) {
    throw new HttpError(400, `Dataset name "${name}" is reserved for folders being written (".partial-" in the name); choose another`);
  }
  return name;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  // A refused upload may leave its body half read (the stream was destroyed): do not reuse the connection.
  const close = status >= 400 ? { connection: 'close' } : {};
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...close });
  res.end(JSON.stringify(body));
}

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => null))?.size ?? 0;
}

/** A failure after which the upload can never succeed: its staging folder goes at once. */
function isFatal(err: unknown): boolean {
  return err instanceof HttpError && (err.status === 413 || err.status === 507);
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
  const staging = new StagingArea(join(root, '.uploads'), limits, opts.log, opts.sweepEveryMs);

  const checkId = (id: string) => {
    if (!UPLOAD_ID_RE.test(id)) throw new HttpError(400, `Upload id "${id}" is not valid (8-64 letters, digits or "-")`);
    return id;
  };

  /** Runs one request of an upload under its lock; a fatal failure deletes the upload, any other re-reads its size. */
  async function locked<T>(upload: StagedUpload, work: () => Promise<T>): Promise<T> {
    const unlock = staging.lock(upload);
    try {
      return await work();
    } catch (err) {
      if (isFatal(err)) await staging.drop(upload.id);
      else await staging.resync(upload).catch(() => undefined);
      throw err;
    } finally {
      unlock();
    }
  }

  async function status(id: string) {
    await staging.ready;
    const upload = staging.get(checkId(id));
    const archiveBytes = upload ? await sizeOf(join(upload.dir, ARCHIVE_FILE)) : 0;
    return { archiveBytes, files: upload?.files ?? 0, fileBytes: upload ? upload.bytes - archiveBytes : 0 };
  }

  async function putArchive(req: IncomingMessage, id: string, url: URL) {
    const offset = Number(url.searchParams.get('offset') ?? '0');
    if (!Number.isSafeInteger(offset) || offset < 0) throw new HttpError(400, 'offset must be a whole number of bytes, 0 or more');
    const upload = await staging.open(checkId(id));
    return locked(upload, async () => {
      const file = join(upload.dir, ARCHIVE_FILE);
      const size = await sizeOf(file);
      if (offset !== size) throw new HttpError(409, `Upload ${id} has ${size} bytes; send the chunk at offset ${size}`, { size });
      // A declared length over a limit is refused before a byte is read; the meter holds the limits while streaming.
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > 0) staging.checkFits(upload, declared);
      await pipeline(req, staging.meter(upload), createWriteStream(file, { flags: 'a' }));
      return { size: await sizeOf(file) };
    });
  }

  async function putFile(req: IncomingMessage, id: string, url: URL) {
    const rel = url.searchParams.get('path') ?? '';
    let parts: string[];
    try {
      parts = checkEntryName(rel);
    } catch (err) {
      throw new HttpError(400, (err as Error).message.replace('Archive entry', 'File'));
    }
    const upload = await staging.open(checkId(id));
    const dir = join(upload.dir, FILES_DIR);
    let target: string;
    try {
      target = resolveInsideRoot(dir, parts.join('/'));
    } catch {
      throw new HttpError(400, `File "${rel}" escapes the upload folder`);
    }
    return locked(upload, async () => {
      // Rewriting a file that arrived before is fine (a restarted folder upload sends it again): its old bytes are refunded.
      const before = await stat(target).catch(() => null);
      if (!before && upload.files >= limits.maxFiles) {
        throw new HttpError(413, `Too many files: the limit is ${limits.maxFiles} per dataset (UPLOAD_MAX_ENTRIES)`);
      }
      await mkdir(dirname(target), { recursive: true });
      upload.bytes -= before?.size ?? 0;
      await pipeline(req, staging.meter(upload), createWriteStream(target));
      if (!before) upload.files++;
      return { files: upload.files };
    });
  }

  async function finish(id: string, url: URL) {
    const name = checkDatasetName(url.searchParams.get('name'));
    await staging.ready;
    const upload = staging.get(checkId(id));
    if (!upload) throw new HttpError(400, `Upload ${id} has no data: send a zip or the files of a folder first`);
    const target = resolveInsideRoot(root, name);
    const unlock = staging.lock(upload);
    try {
      if (await stat(target).catch(() => null)) throw new HttpError(409, `A dataset named "${name}" already exists; choose another name`);
      const result = await publish(upload, name, target).catch(async (err: unknown) => {
        // Anything but a lost race for the name makes this upload useless: nothing half-made stays behind.
        if (!(err instanceof HttpError && err.status === 409)) await staging.drop(upload.id);
        throw err;
      });
      await staging.drop(upload.id);
      return result;
    } finally {
      staging.release(upload);
      unlock();
    }
  }

  /** Any dataset folder under the root (one placed by hand may have a name an upload could not choose), never a hidden one. */
  async function existingDataset(name: string): Promise<string> {
    let dir: string | null = null;
    try {
      if (name && !isWorkInProgressName(name)) dir = resolveInsideRoot(root, name);
    } catch {
      // outside the root: no such dataset
    }
    if (!dir || dir === root || !(await stat(dir).catch(() => null))?.isDirectory()) {
      throw new HttpError(404, `Dataset "${name}" does not exist under the datasets folder`);
    }
    return name;
  }

  /** Adds the upload's class folders to an existing dataset as its next version; the upload is used up either way. */
  async function add(id: string, url: URL) {
    const name = await existingDataset(url.searchParams.get('dataset') ?? '');
    await staging.ready;
    const upload = staging.get(checkId(id));
    if (!upload) throw new HttpError(400, `Upload ${id} has no data: send a zip or the files of a folder first`);
    const unlock = staging.lock(upload);
    try {
      const result = await addImagesToDataset(opts.repo, root, name, await unpack(upload));
      opts.log.info(`dataset ${name}: version ${result.version} adds ${result.addedImages} images`);
      await opts.publisher?.publishAfterChange(name);
      return result;
    } finally {
      await staging.drop(upload.id);
      staging.release(upload);
      unlock();
    }
  }

  /** The upload's content folder: the zip unpacked (entry by entry, within the limits) or the folder's files. */
  async function unpack(upload: StagedUpload): Promise<string> {
    const archive = join(upload.dir, ARCHIVE_FILE);
    let content: string;
    if ((await sizeOf(archive)) > 0) {
      content = join(upload.dir, EXTRACT_DIR);
      await rm(content, { recursive: true, force: true });
      try {
        await extractZipSafely(archive, content, limits, { beforeWrite: (bytes) => staging.reserve(upload, bytes) });
      } catch (err) {
        await rm(content, { recursive: true, force: true });
        if (err instanceof ArchiveError) throw new HttpError(err.code === 'too_large' || err.code === 'too_many_files' ? 413 : 400, err.message);
        throw err;
      }
    } else if (upload.files > 0) {
      content = join(upload.dir, FILES_DIR);
    } else {
      throw new HttpError(400, `Upload ${upload.id} has no data: send a zip or the files of a folder first`);
    }
    return unwrapSingleFolder(content);
  }

  /** Unpacks (zip) or takes (folder) the upload, checks it is a dataset and renames it to DATASETS_ROOT/<name>. */
  async function publish(upload: StagedUpload, name: string, target: string) {
    const content = await unpack(upload);
    const rel = content.slice(root.length + 1).split(sep).join('/');
    // Validate before publishing: the loader must find images in at least two classes.
    try {
      await inspectDataset(root, rel, 0);
    } catch (err) {
      // The loader names the staging folder; the user knows the upload by the dataset name it asked for.
      const message = errorMessage(err).split(`"${rel}"`).join(`"${name}"`).split(rel).join(name);
      throw new HttpError(400, `The upload is not a usable dataset: ${message}`);
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
    await ensureRegistered(opts.repo, root, name);
    const inspection = await inspectDataset(root, name, 0);
    opts.log.info(`dataset ${name} uploaded: ${inspection.total} images in ${inspection.classes.length} classes`);
    await opts.publisher?.publishAfterChange(name);
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
  async function handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const m = /^\/api\/datasets\/uploads\/([^/]+)(?:\/(archive|file|finish|add))?$/.exec(url.pathname);
    if (!m) return false;
    const id = decodeURIComponent(m[1] as string);
    const action = m[2];
    try {
      let body: unknown;
      if (req.method === 'GET' && !action) body = await status(id);
      else if (req.method === 'DELETE' && !action) {
        await staging.ready;
        const upload = staging.get(checkId(id));
        if (upload) staging.lock(upload); // 409 while a request writes; held until the folder is gone
        await staging.drop(id);
        body = { deleted: true };
      } else if (req.method === 'PUT' && action === 'archive') body = await putArchive(req, id, url);
      else if (req.method === 'PUT' && action === 'file') body = await putFile(req, id, url);
      else if (req.method === 'POST' && action === 'finish') body = await finish(id, url);
      else if (req.method === 'POST' && action === 'add') body = await add(id, url);
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
  }

  return Object.assign(handle, {
    staging,
    /** Stops the idle-upload sweep (server shutdown). */
    close: () => staging.close(),
  });
}

