import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateSampleDataset } from '@defectflow/engine/data';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { areNearDuplicates, findNearDuplicatesAcrossClasses, imageSignature } from '../server/datasets/near-duplicates.ts';
import { tempDir } from './helpers.ts';

function listItems(dir: string) {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(dir, d.name)).map((f) => ({ id: `${d.name}/${f}`, path: join(dir, d.name, f), className: d.name })));
}

/** What a person would still call the same picture: re-compressed, rescaled, a little brighter. */
const copies: Record<string, (file: string, width: number) => Promise<Buffer>> = {
  jpeg60: (f) => sharp(f).jpeg({ quality: 60 }).toBuffer(),
  halfSizeJpeg: (f, w) => sharp(f).resize(Math.round(w * 0.5)).jpeg({ quality: 75 }).toBuffer(),
  brighter: (f) => sharp(f).modulate({ brightness: 1.1 }).png().toBuffer(),
};

// Issue 20 item 3: the shipped sample data was reported as mislabelled (893 pairs on sample-steel).
describe.each([
  ['steel textures', { kind: 'steel' as const, perClass: 25 }],
  ['small defects on tiles', { kind: 'small-defects' as const, scale: 0.12 }],
])('near duplicates on %s', (_name, options) => {
  it('reports no pair among distinct generated images, and finds re-saved copies of them', async () => {
    const dir = join(tempDir('df-nd-'), 'set');
    await generateSampleDataset(dir, options);
    const items = listItems(dir);
    expect(items.length).toBeGreaterThan(120);
    expect(await findNearDuplicatesAcrossClasses(items)).toEqual([]);

    for (const item of items.filter((_, i) => i % 17 === 0)) {
      const width = (await sharp(item.path).metadata()).width as number;
      const original = await imageSignature(item.path);
      for (const [name, make] of Object.entries(copies)) {
        expect({ file: item.id, copy: name, found: areNearDuplicates(original, await imageSignature(await make(item.path, width))) }).toEqual({
          file: item.id,
          copy: name,
          found: true,
        });
      }
    }
  }, 120_000);
});
