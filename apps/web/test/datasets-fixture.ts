/** Small generated image datasets for the dataset tests: distinct noisy PNGs, one exact duplicate across classes. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';

/** A 24×24 RGB PNG whose pixels depend on (seed, n). */
export async function pngBytes(seed: number, n: number, size = 24): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 3);
  let s = (seed * 7919 + n * 104729 + 1) >>> 0;
  for (let i = 0; i < raw.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    raw[i] = (s >>> 24) & 0xff;
  }
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

/** Files (relative path → bytes) of a folder-per-class dataset; good/dup.png === scratch/dup.png. */
export async function datasetFiles(perClass = 5): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const [c, cls] of ['good', 'scratch'].entries()) {
    for (let n = 0; n < perClass; n++) files.set(`${cls}/img${n}.png`, await pngBytes(c + 1, n));
  }
  const dup = await pngBytes(99, 0);
  files.set('good/dup.png', dup);
  files.set('scratch/dup.png', dup);
  return files;
}

export function writeDataset(root: string, name: string, files: Map<string, Buffer>): string {
  const dir = join(root, name);
  for (const [rel, data] of files) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), data);
  }
  return dir;
}
