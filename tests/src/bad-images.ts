/**
 * Image files a factory share really contains, made at test time: real encoders (sharp) for the valid but
 * unusual ones, cut or hand-written bytes for the broken ones. Nothing is checked in as a fixture.
 */
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/** A noisy RGB test picture (noise keeps JPEGs large enough to cut in the middle of the scan data). */
async function noise(width: number, height: number, seed = 1): Promise<Sharp> {
  const data = Buffer.alloc(width * height * 3);
  let x = seed * 2654435761;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = (x >>> 16) & 0xff;
  }
  return sharp(data, { raw: { width, height, channels: 3 } });
}

/** Random bytes under an image name. */
export function corruptImage(): Buffer {
  return randomBytes(4096);
}

/** A JPEG whose scan data stops half-way (a copy interrupted mid-file): the header is intact. */
export async function truncatedJpeg(): Promise<Buffer> {
  const full = await (await noise(96, 96, 2)).jpeg({ quality: 90 }).toBuffer();
  return full.subarray(0, Math.floor(full.length / 2));
}

export function zeroByteImage(): Buffer {
  return Buffer.alloc(0);
}

/** A 16-bit-per-channel RGB PNG. */
export async function png16(): Promise<Buffer> {
  return (await noise(64, 64, 5)).toColourspace('rgb16').png().toBuffer();
}

/** A CMYK JPEG (print workflows). */
export async function cmykJpeg(): Promise<Buffer> {
  return (await noise(64, 64, 3)).toColourspace('cmyk').jpeg().toBuffer();
}

/** An 8-bit palette (indexed) PNG. */
export async function palettePng(): Promise<Buffer> {
  return (await noise(64, 64, 4)).png({ palette: true, colours: 16 }).toBuffer();
}

/** A 1×1 PNG. */
export async function tinyPng(): Promise<Buffer> {
  return sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 128, g: 64, b: 32 } } })
    .png()
    .toBuffer();
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/**
 * A hand-written PNG whose header claims `width`×`height` (30000×30000 RGB = 2.7 GB decoded) with a tiny
 * IDAT: a few hundred bytes on disk that ask a decoder for gigabytes.
 */
export function hugeHeaderPng(width = 30_000, height = 30_000): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  ihdr[10] = 0;
  ihdr[11] = 0;
  ihdr[12] = 0;
  // One filter byte + a few pixels of the first row; the rest is "missing".
  const idat = deflateSync(Buffer.alloc(1 + 3 * 64));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

export interface BadImage {
  /** File name (the class folder is the caller's). */
  name: string;
  data: Buffer;
  /** Should the dataset check drop it (with a warning naming it) or keep it as a normal image? */
  expect: 'skipped' | 'kept';
}

/** Every kind of the list, named so a warning that names the file says which kind it is. */
export async function badImageSet(): Promise<BadImage[]> {
  return [
    { name: 'corrupt.png', data: corruptImage(), expect: 'skipped' },
    { name: 'truncated.jpg', data: await truncatedJpeg(), expect: 'skipped' },
    { name: 'zero-byte.png', data: zeroByteImage(), expect: 'skipped' },
    { name: 'huge-header.png', data: hugeHeaderPng(), expect: 'skipped' },
    { name: 'sixteen-bit.png', data: await png16(), expect: 'kept' },
    { name: 'cmyk.jpg', data: await cmykJpeg(), expect: 'kept' },
    { name: 'palette.png', data: await palettePng(), expect: 'kept' },
    { name: 'tiny-1x1.png', data: await tinyPng(), expect: 'kept' },
  ];
}
