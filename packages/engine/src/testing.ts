/**
 * Fixtures for the tests of every workspace (engine, web, end-to-end) that check the image pixel limit
 * (IMAGE_MAX_PIXELS): `@defectflow/engine/testing`, kept out of the engine's main entry.
 */
import { crc32, deflateSync } from 'node:zlib';

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
 * IDAT: about 70 bytes on disk that ask a decoder for gigabytes (what a decompression bomb looks like).
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
