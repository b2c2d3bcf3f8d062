import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { inspectDataset } from '../server/datasets/inspect.ts';
import { datasetFiles, writeDataset } from './datasets-fixture.ts';
import { tempDir } from './helpers.ts';

/** A smooth gradient: its rescaled JPEG copy is a near (not exact) duplicate. */
async function gradient(size: number): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) raw.fill(Math.round((255 * (x + y)) / (2 * size)), (y * size + x) * 3, (y * size + x) * 3 + 3);
  }
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

describe('dataset inspection', () => {
  it('warns about near duplicates across classes and names both files, besides exact ones and mixed sizes', async () => {
    const root = tempDir('df-insp-');
    const dir = writeDataset(root, 'plates', await datasetFiles(4));
    const original = await gradient(64);
    writeFileSync(join(dir, 'good/gradient.png'), original);
    writeFileSync(join(dir, 'scratch/gradient-copy.jpg'), await sharp(original).resize(48, 48).jpeg({ quality: 80 }).toBuffer());

    const result = await inspectDataset(root, 'plates');
    const near = result.warnings.find((w) => w.code === 'near_duplicates_across_classes');
    expect(near?.files.sort()).toEqual(['good/gradient.png', 'scratch/gradient-copy.jpg']);
    const exact = result.warnings.find((w) => w.code === 'duplicates_across_classes');
    expect(exact?.files.sort()).toEqual(['good/dup.png', 'scratch/dup.png']);
    expect(result.warnings.some((w) => w.code === 'mixed_sizes')).toBe(true);
    expect(result.counts).toEqual({ good: 6, scratch: 6 });
  });

  it('names a dataset that does not exist', async () => {
    await expect(inspectDataset(tempDir('df-insp-'), 'nope')).rejects.toThrow(/Dataset nope does not exist/);
  });
});
