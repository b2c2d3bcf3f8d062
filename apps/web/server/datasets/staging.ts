/**
 * The upload staging area (DATASETS_ROOT/.uploads/<id>), bounded:
 * - bytes: per upload (UPLOAD_MAX_BYTES, 413) and across every upload together, unpacked archives being
 *   finished included (UPLOAD_STAGING_MAX_BYTES, 507). Bytes are charged as they stream in, so a limit
 *   holds mid-request; after a failed request the books are re-read from disk.
 * - count: at most UPLOAD_MAX_OPEN uploads exist at once (429 for a new id).
 * - one request per upload at a time (409 + the byte count while another is writing).
 * - time: uploads idle longer than UPLOAD_STAGING_TTL_MIN are deleted by a sweep timer (unref'd).
 * The books live in memory; on start they are rebuilt from the folders a previous process left.
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { errorMessage, type Logger } from '../log.ts';
import { formatBytes } from './archive.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export interface StagingLimits {
  /** Bytes of one upload: the zip, or all files of a folder together (UPLOAD_MAX_BYTES). */
  maxUploadBytes: number;
  /** Bytes of all uploads in staging together, archives being unpacked included (UPLOAD_STAGING_MAX_BYTES). */
  maxStagingBytes: number;
  /** Uploads open at once (UPLOAD_MAX_OPEN). */
  maxOpen: number;
  /** An upload untouched this long is deleted (UPLOAD_STAGING_TTL_MIN). */
  ttlMs: number;
}

export interface StagedUpload {
  readonly id: string;
  readonly dir: string;
  /** Bytes received (archive.zip, or files/ of a folder upload). */
  bytes: number;
  /** Files received by a folder upload. */
  files: number;
  /** Bytes reserved while this upload's archive is unpacked (finish). */
  reserved: number;
  lastActive: number;
  busy: boolean;
}

export const ARCHIVE_FILE = 'archive.zip';
export const FILES_DIR = 'files';
export const EXTRACT_DIR = 'extract';

async function sizeOf(file: string): Promise<number> {
  return (await stat(file).catch(() => null))?.size ?? 0;
}

/** Regular files below `dir`: how many, how many bytes. */
export async function measureFiles(dir: string): Promise<{ count: number; bytes: number }> {
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

export class StagingArea {
  private readonly uploads = new Map<string, StagedUpload>();
  private timer: NodeJS.Timeout | undefined;
  readonly ready: Promise<void>;

  constructor(
    readonly root: string,
    readonly limits: StagingLimits,
    private readonly log: Logger,
    sweepEveryMs = Math.min(60_000, Math.max(1000, limits.ttlMs / 4)),
  ) {
    this.ready = this.load();
    this.timer = setInterval(() => void this.sweep().catch((err) => this.log.warn(`staging sweep failed: ${errorMessage(err)}`)), sweepEveryMs);
    this.timer.unref();
  }

  /** Bytes held by every upload, reservations included. */
  get totalBytes(): number {
    let n = 0;
    for (const u of this.uploads.values()) n += u.bytes + u.reserved;
    return n;
  }

  get openCount(): number {
    return this.uploads.size;
  }

  get(id: string): StagedUpload | undefined {
    return this.uploads.get(id);
  }

  /** The upload `id`, created (after the open-uploads check) when it does not exist yet. */
  async open(id: string): Promise<StagedUpload> {
    await this.ready;
    const known = this.uploads.get(id);
    if (known) return known;
    if (this.uploads.size >= this.limits.maxOpen) {
      throw new HttpError(
        429,
        `${this.uploads.size} uploads are already open, the limit is ${this.limits.maxOpen} (UPLOAD_MAX_OPEN): finish or cancel one, ` +
          `or wait until idle ones expire (UPLOAD_STAGING_TTL_MIN=${Math.round(this.limits.ttlMs / 60_000)})`,
      );
    }
    const upload: StagedUpload = { id, dir: join(this.root, id), bytes: 0, files: 0, reserved: 0, lastActive: Date.now(), busy: false };
    this.uploads.set(id, upload); // before the await: a concurrent open of the same id gets this one
    try {
      await mkdir(upload.dir, { recursive: true });
    } catch (err) {
      this.uploads.delete(id);
      throw err;
    }
    return upload;
  }

  /** Takes the upload's one request slot; the returned function gives it back. 409 while another request holds it. */
  lock(upload: StagedUpload): () => void {
    if (upload.busy) {
      throw new HttpError(
        409,
        `Upload ${upload.id} is busy with another request; ask GET /api/datasets/uploads/${upload.id} for its size and send again`,
        { size: upload.bytes },
      );
    }
    upload.busy = true;
    upload.lastActive = Date.now();
    return () => {
      upload.busy = false;
      upload.lastActive = Date.now();
    };
  }

  /** Throws when `n` more bytes for `upload` would pass a limit. */
  checkFits(upload: StagedUpload, n: number): void {
    if (upload.bytes + n > this.limits.maxUploadBytes) {
      throw new HttpError(413, `The upload is larger than the limit of ${formatBytes(this.limits.maxUploadBytes)} (UPLOAD_MAX_BYTES)`);
    }
    this.checkRoom(n);
  }

  /** Counts `n` more bytes for `upload`; throws (nothing counted) when a limit would be passed. */
  charge(upload: StagedUpload, n: number): void {
    this.checkFits(upload, n);
    upload.bytes += n;
    upload.lastActive = Date.now();
  }

  /** Reserves room for unpacking `n` bytes (released by `drop` or `release`). */
  reserve(upload: StagedUpload, n: number): void {
    this.checkRoom(n);
    upload.reserved += n;
  }

  release(upload: StagedUpload): void {
    upload.reserved = 0;
  }

  /** A stream stage that charges every chunk to `upload` before passing it on. */
  meter(upload: StagedUpload): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, cb) => {
        try {
          this.charge(upload, chunk.length);
          cb(null, chunk);
        } catch (err) {
          cb(err as Error);
        }
      },
    });
  }

  /** Re-reads an upload's bytes from disk (after a failed request left an unknown amount written). */
  async resync(upload: StagedUpload): Promise<void> {
    const files = await measureFiles(join(upload.dir, FILES_DIR));
    upload.bytes = (await sizeOf(join(upload.dir, ARCHIVE_FILE))) + files.bytes;
    upload.files = files.count;
  }

  /** Deletes an upload's folder and forgets it. */
  async drop(id: string): Promise<void> {
    this.uploads.delete(id);
    await rm(join(this.root, id), { recursive: true, force: true });
  }

  /** Deletes uploads idle longer than the TTL (never one a request is using). */
  async sweep(now = Date.now()): Promise<string[]> {
    await this.ready;
    const expired = [...this.uploads.values()].filter((u) => !u.busy && now - u.lastActive > this.limits.ttlMs);
    for (const u of expired) {
      await this.drop(u.id);
      this.log.info(`upload ${u.id} removed from staging after ${Math.round((now - u.lastActive) / 60_000)} min idle`);
    }
    return expired.map((u) => u.id);
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private checkRoom(n: number): void {
    const total = this.totalBytes;
    if (total + n > this.limits.maxStagingBytes) {
      throw new HttpError(
        507,
        `Upload staging is full: ${formatBytes(total)} of ${formatBytes(this.limits.maxStagingBytes)} (UPLOAD_STAGING_MAX_BYTES) ` +
          'are taken by uploads in progress; try again when they are finished or expired',
      );
    }
  }

  /** Rebuilds the books from what a previous process left; half-unpacked folders are removed. */
  private async load(): Promise<void> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const dir = join(this.root, e.name);
      if (!e.isDirectory()) {
        await rm(dir, { force: true });
        continue;
      }
      await rm(join(dir, EXTRACT_DIR), { recursive: true, force: true });
      // Idle time counts from this start: a client may still resume what it began before the restart.
      const upload: StagedUpload = { id: e.name, dir, bytes: 0, files: 0, reserved: 0, lastActive: Date.now(), busy: false };
      await this.resync(upload);
      this.uploads.set(e.name, upload);
    }
  }
}
