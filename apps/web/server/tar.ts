/**
 * A tiny streaming tar.gz writer for model archives (GET /api/models/<id>/archive).
 * Why tar.gz and not zip: node:zlib gives gzip for free and the ustar format is 512-byte headers plus
 * file bytes, so the whole writer is ~60 lines with no dependency; zip would need CRC32 tables and a
 * central directory. Every OS extracts .tar.gz (tar -xzf, Windows 10+ tar, 7-Zip).
 */
import { PassThrough, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import type { ArtifactStore, StoredObject } from '@defectflow/storage';

const BLOCK = 512;

function writeField(buf: Buffer, offset: number, length: number, value: string): void {
  buf.write(value, offset, Math.min(length, Buffer.byteLength(value)), 'utf8');
}

function octal(value: number, length: number): string {
  return `${value.toString(8).padStart(length - 1, '0')}\0`;
}

/** One ustar header. Names up to 255 bytes via the prefix field; longer ones are refused. */
export function tarHeader(name: string, size: number, mtime: Date, type: 'file' | 'dir'): Buffer {
  const header = Buffer.alloc(BLOCK, 0);
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100) throw new Error(`Path too long for tar: ${name}`);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  writeField(header, 0, 100, base);
  writeField(header, 100, 8, octal(type === 'dir' ? 0o755 : 0o644, 8));
  writeField(header, 108, 8, octal(0, 8));
  writeField(header, 116, 8, octal(0, 8));
  writeField(header, 124, 12, octal(type === 'dir' ? 0 : size, 12));
  writeField(header, 136, 12, octal(Math.floor(mtime.getTime() / 1000), 12));
  header.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  header[156] = type === 'dir' ? 0x35 : 0x30; // '5' directory, '0' file
  writeField(header, 257, 6, 'ustar\0');
  writeField(header, 263, 2, '00');
  writeField(header, 345, 155, prefix);
  let sum = 0;
  for (const byte of header) sum += byte;
  writeField(header, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return header;
}

/** The folders an archive needs before its files (`a/`, `a/b/` for `a/b/c.bin`), each once, in order. */
function folderEntries(paths: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const p of paths) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const folder = `${parts.slice(0, i).join('/')}/`;
      if (!seen.has(folder)) {
        seen.add(folder);
        out.push(folder);
      }
    }
  }
  return out;
}

/**
 * Streams the stored objects under `prefix` (a model folder, `models/<id>/`) as a gzipped tar whose entries sit
 * under `rootName/`. Objects have no times: entries carry the archive's creation time.
 */
export function tarGzStored(store: ArtifactStore, objects: StoredObject[], prefix: string, rootName: string): Readable {
  const tar = new PassThrough();
  const gzip = createGzip();
  tar.pipe(gzip);
  (async () => {
    const now = new Date();
    tar.write(tarHeader(`${rootName}/`, 0, now, 'dir'));
    const files = objects.map((o) => ({ ...o, rel: o.key.slice(prefix.length) })).sort((a, b) => (a.rel < b.rel ? -1 : 1));
    const folders = new Set(folderEntries(files.map((f) => f.rel)));
    const written = new Set<string>();
    for (const f of files) {
      // Each file's folders first (ustar extractors create them anyway; explicit entries keep modes sane).
      for (const folder of folderEntries([f.rel])) {
        if (folders.has(folder) && !written.has(folder)) {
          written.add(folder);
          tar.write(tarHeader(`${rootName}/${folder}`, 0, now, 'dir'));
        }
      }
      const body = await store.getStream(f.key);
      if (!body) throw new Error(`${f.key} vanished from ${store.describe()} while archiving`);
      tar.write(tarHeader(`${rootName}/${f.rel}`, f.size, now, 'file'));
      let size = 0;
      for await (const chunk of body) {
        size += (chunk as Buffer).length;
        if (!tar.write(chunk)) await new Promise((r) => tar.once('drain', r));
      }
      if (size !== f.size) throw new Error(`${f.key} changed size while archiving`);
      const pad = (BLOCK - (f.size % BLOCK)) % BLOCK;
      if (pad) tar.write(Buffer.alloc(pad, 0));
    }
    tar.end(Buffer.alloc(BLOCK * 2, 0)); // end-of-archive marker
  })().catch((err: unknown) => gzip.destroy(err instanceof Error ? err : new Error(String(err))));
  return gzip;
}
