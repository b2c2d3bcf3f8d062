/**
 * Image files a factory share really contains, made at test time: real encoders (sharp) for the valid but
 * unusual ones, cut or hand-written bytes for the broken ones. Nothing is checked in as a fixture.
 */
import { randomBytes } from 'node:crypto';
import { hugeHeaderPng } from '@defectflow/engine/testing';
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
