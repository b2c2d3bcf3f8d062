import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

/** A fresh temp folder under the OS temp dir; remove with cleanup(). */
export async function makeTempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), `defectflow-${prefix}-`)));
  return { dir, cleanup: () => fs.rm(dir, { recursive: true, force: true }) };
}

/** Writes a flat-colour PNG (8-bit, given channels). */
export async function writePng(file: string, width: number, height: number, channels: 1 | 3 | 4, value: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const raw = Buffer.alloc(width * height * channels, value);
  await sharp(raw, { raw: { width, height, channels } }).png().toFile(file);
}

/** Writes a 16-bit grayscale PNG where every pixel has `value16` (0..65535). */
export async function writeGray16Png(file: string, width: number, height: number, value16: number): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const px = new Uint16Array(width * height).fill(value16);
  // A Uint16Array input (not a Buffer) tells sharp the raw samples are 16-bit.
  await sharp(px, { raw: { width, height, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(file);
}
