/**
 * Safe extraction of an uploaded zip into a folder. Refused, with a message naming the entry:
 * absolute paths, `..` segments, backslash or drive-letter names, symlinks and other non-regular
 * entries (zip "external attributes"), more than `maxFiles` entries, more than `maxBytes` in total
 * (declared sizes checked before anything is written, actual bytes counted while writing), and a
 * compression ratio over `maxRatio` (zip bombs), for any entry over 1 MiB and for the whole archive
 * (so ten thousand small entries of zeros are caught too). Messages name the env variable of the
 * limit (server/env.ts: UPLOAD_MAX_UNPACKED_BYTES, UPLOAD_MAX_ENTRIES, UPLOAD_MAX_RATIO). Extraction writes only inside
 * `destDir`; the caller extracts into a temporary folder and renames it into place when all is well.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yauzl from 'yauzl';
import { resolveInsideRoot } from '../paths.ts';

export interface ArchiveLimits {
  /** Total uncompressed bytes. */
  maxBytes: number;
  /** Number of entries (files and folders). */
  maxFiles: number;
  /** uncompressed / compressed size above which an entry (over 1 MiB) or the whole archive (over 1 MiB unpacked) is a bomb. */
  maxRatio: number;
}

/** Below this many unpacked bytes a ratio says nothing (a few text files compress well and harm no one). */
const RATIO_FLOOR_BYTES = 1024 * 1024;

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = { maxBytes: 4 * 1024 ** 3, maxFiles: 100_000, maxRatio: 200 };

export type ArchiveErrorCode = 'unsafe_path' | 'link_entry' | 'too_large' | 'too_many_files' | 'bomb' | 'invalid_archive';

export class ArchiveError extends Error {
  constructor(
    readonly code: ArchiveErrorCode,
    message: string,
    readonly entry?: string,
  ) {
    super(message);
    this.name = 'ArchiveError';
  }
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;

/** Archive litter that is never dataset content. */
function isJunk(name: string): boolean {
  return name.split('/').some((part) => part === '__MACOSX' || part === '.DS_Store' || part === 'Thumbs.db');
}

/** Throws unless `name` is a plain relative path; returns its segments. */
export function checkEntryName(name: string): string[] {
  const fail = (why: string) => new ArchiveError('unsafe_path', `Archive entry "${name}" ${why}; nothing was extracted`, name);
  if (name.includes('\\')) throw fail('contains a backslash');
  if (name.includes('\0')) throw fail('contains a NUL byte');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw fail('is an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw fail('escapes the target folder with ".."');
  if (parts.length === 0) throw fail('has an empty name');
  return parts;
}

function fileType(entry: yauzl.Entry): number {
  const madeBy = entry.versionMadeBy >> 8; // 3 = Unix: the high 16 bits of the attributes are st_mode
  return madeBy === 3 ? (entry.externalFileAttributes >>> 16) & S_IFMT : 0;
}

function openZip(file: string): Promise<yauzl.ZipFile> {
  return new Promise((ok, fail) =>
    // decodeStrings keeps yauzl's own name validation too (defence in depth); lazy so we check before reading.
    yauzl.open(file, { lazyEntries: true, autoClose: true, strictFileNames: false, validateEntrySizes: true }, (err, zip) =>
      err ? fail(err) : ok(zip),
    ),
  );
}

interface PlannedEntry {
  entry: yauzl.Entry;
  parts: string[];
  dir: boolean;
}

/** Reads the central directory and checks every entry before a single byte is written. */
async function plan(file: string, limits: ArchiveLimits): Promise<PlannedEntry[]> {
  let zip: yauzl.ZipFile;
  try {
    zip = await openZip(file);
  } catch (err) {
    throw new ArchiveError('invalid_archive', `Not a readable zip archive: ${(err as Error).message}`);
  }
  if (zip.entryCount > limits.maxFiles) {
    zip.close();
    throw new ArchiveError(
      'too_many_files',
      `The archive has ${zip.entryCount} entries; the limit is ${limits.maxFiles} (UPLOAD_MAX_ENTRIES)`,
    );
  }
  const entries: PlannedEntry[] = [];
  let total = 0;
  let compressed = 0;
  await new Promise<void>((ok, fail) => {
    const stop = (err: unknown) => {
      zip.close();
      fail(err);
    };
    zip.on('error', (err: Error) => stop(err instanceof ArchiveError ? err : fromYauzl(err)));
    zip.on('end', ok);
    zip.on('entry', (entry: yauzl.Entry) => {
      try {
        const name = entry.fileName;
        const parts = checkEntryName(name);
        const type = fileType(entry);
        const dir = name.endsWith('/') || type === S_IFDIR;
        if (type !== 0 && type !== S_IFREG && type !== S_IFDIR) {
          throw new ArchiveError(
            'link_entry',
            `Archive entry "${name}" is a symbolic link or special file; only regular files and folders are accepted`,
            name,
          );
        }
        total += entry.uncompressedSize;
        if (total > limits.maxBytes) {
          throw new ArchiveError(
            'too_large',
            `The archive unpacks to more than ${formatBytes(limits.maxBytes)} (UPLOAD_MAX_UNPACKED_BYTES; limit reached at "${name}")`,
            name,
          );
        }
        compressed += entry.compressedSize;
        if (
          entry.uncompressedSize > RATIO_FLOOR_BYTES &&
          entry.uncompressedSize > limits.maxRatio * Math.max(1, entry.compressedSize)
        ) {
          throw new ArchiveError(
            'bomb',
            `Archive entry "${name}" expands ${Math.round(entry.uncompressedSize / Math.max(1, entry.compressedSize))}× (limit ${limits.maxRatio}×, UPLOAD_MAX_RATIO); refusing a possible zip bomb`,
            name,
          );
        }
        if (!isJunk(name) && !parts.some((p) => p.startsWith('._'))) entries.push({ entry, parts, dir });
        zip.readEntry();
      } catch (err) {
        stop(err);
      }
    });
    zip.readEntry();
  });
  // Entries may share their compressed bytes (overlapping-entry bombs): the file's own size bounds the sum.
  const packed = Math.max(1, Math.min(compressed, (await stat(file)).size));
  if (total > RATIO_FLOOR_BYTES && total > limits.maxRatio * packed) {
    throw new ArchiveError(
      'bomb',
      `The archive expands ${Math.round(total / packed)}× as a whole (${formatBytes(packed)} → ${formatBytes(total)} in ${entries.length} entries; limit ${limits.maxRatio}×, UPLOAD_MAX_RATIO); refusing a possible zip bomb`,
    );
  }
  return entries;
}

export interface ExtractResult {
  files: number;
  bytes: number;
}

export interface ExtractOptions {
  /** Called with the declared unpacked size once every entry passed, before a byte is written; may throw to refuse. */
  beforeWrite?: (plannedBytes: number) => void;
}

/** Extracts `zipFile` into `destDir` (created; should be empty) after checking every entry. */
export async function extractZipSafely(
  zipFile: string,
  destDir: string,
  limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const entries = await plan(zipFile, limits);
  options.beforeWrite?.(entries.reduce((n, e) => n + (e.dir ? 0 : e.entry.uncompressedSize), 0));
  const root = resolve(destDir);
  await mkdir(root, { recursive: true });
  const wanted = new Map(entries.map((e) => [e.entry.fileName, e]));
  const zip = await openZip(zipFile);
  let written = 0;
  let files = 0;
  await new Promise<void>((ok, fail) => {
    const stop = (err: unknown) => {
      zip.close();
      fail(err instanceof ArchiveError ? err : new ArchiveError('invalid_archive', `Invalid zip archive: ${(err as Error).message}`));
    };
    zip.on('error', stop);
    zip.on('end', ok);
    zip.on('entry', (entry: yauzl.Entry) => {
      const planned = wanted.get(entry.fileName);
      if (!planned) {
        zip.readEntry();
        return;
      }
      let target: string;
      try {
        target = resolveInsideRoot(root, planned.parts.join('/'));
      } catch {
        stop(new ArchiveError('unsafe_path', `Archive entry "${entry.fileName}" escapes the target folder`, entry.fileName));
        return;
      }
      if (planned.dir) {
        mkdir(target, { recursive: true }).then(() => zip.readEntry(), stop);
        return;
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err) return stop(err);
        // Count real bytes too: declared sizes can lie (yauzl also checks them against the stream).
        const counter = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            written += chunk.length;
            if (written > limits.maxBytes) {
              const limit = `${formatBytes(limits.maxBytes)} (UPLOAD_MAX_UNPACKED_BYTES)`;
              cb(new ArchiveError('too_large', `The archive unpacks to more than ${limit}`, entry.fileName));
            } else cb(null, chunk);
          },
        });
        mkdir(dirname(target), { recursive: true })
          .then(() => pipeline(stream, counter, createWriteStream(target, { flags: 'wx' })))
          .then(
            () => {
              files++;
              zip.readEntry();
            },
            (err: unknown) =>
              stop(
                err instanceof ArchiveError
                  ? err
                  : new ArchiveError('invalid_archive', `Archive entry "${entry.fileName}" could not be unpacked: ${(err as Error).message}`, entry.fileName),
              ),
          );
      });
    });
    zip.readEntry();
  });
  return { files, bytes: written };
}

/** yauzl's own name checks ("absolute path: …", "invalid relative path: …") are unsafe paths too. */
function fromYauzl(err: Error): ArchiveError {
  const m = /^(invalid characters in fileName|absolute path|invalid relative path): (.*)$/.exec(err.message);
  if (m) return new ArchiveError('unsafe_path', `Archive entry "${m[2]}" is not a safe relative path (${m[1]}); nothing was extracted`, m[2]);
  return new ArchiveError('invalid_archive', `Invalid zip archive: ${err.message}`);
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
