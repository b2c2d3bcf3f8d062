/**
 * A tiny streaming tar.gz writer for model archives (GET /api/models/<id>/archive).
 * Why tar.gz and not zip: node:zlib gives gzip for free and the ustar format is 512-byte headers plus
 * file bytes, so the whole writer is ~60 lines with no dependency; zip would need CRC32 tables and a
 * central directory. Every OS extracts .tar.gz (tar -xzf, Windows 10+ tar, 7-Zip).
 */
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';

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

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(full, ...(await listFiles(full)));
    else if (entry.isFile()) out.push(full); // symlinks and devices are skipped on purpose
  }
  return out.sort();
}

/** Streams `dir` as a gzipped tar whose entries sit under `rootName/`. */
export function tarGzDirectory(dir: string, rootName: string): Readable {
  const tar = new PassThrough();
  const gzip = createGzip();
  tar.pipe(gzip);
  (async () => {
    const rootStat = await stat(dir);
    tar.write(tarHeader(`${rootName}/`, 0, rootStat.mtime, 'dir'));
    for (const full of await listFiles(dir)) {
      const info = await stat(full);
      const name = `${rootName}/${relative(dir, full).split(sep).join('/')}`;
      if (info.isDirectory()) {
        tar.write(tarHeader(`${name}/`, 0, info.mtime, 'dir'));
        continue;
      }
      tar.write(tarHeader(name, info.size, info.mtime, 'file'));
      let written = 0;
      for await (const chunk of createReadStream(full)) {
        written += (chunk as Buffer).length;
        if (!tar.write(chunk)) await new Promise((r) => tar.once('drain', r));
      }
      if (written !== info.size) throw new Error(`${full} changed size while archiving`);
      const pad = (BLOCK - (info.size % BLOCK)) % BLOCK;
      if (pad) tar.write(Buffer.alloc(pad, 0));
    }
    tar.end(Buffer.alloc(BLOCK * 2, 0)); // end-of-archive marker
  })().catch((err: unknown) => gzip.destroy(err instanceof Error ? err : new Error(String(err))));
  return gzip;
}
