import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { type DatasetManifest, IMAGE_MAX_PIXELS, generateSampleDataset, loadDataset, readImageAsFloat } from '../../src/data/index.ts';
import { loadBackbone } from '../../src/model/backbone.ts';
import { disposeTrained, predictDatasetItems, trainOnDataset } from '../../src/model/classifier.ts';
import { UnreadableImagesError } from '../../src/model/unreadable.ts';
import { makeTempDir, writeGray16Png, writePng } from './helpers.ts';

/** A PNG whose header claims width × height while its data is a single pixel: a few dozen bytes. */
async function hugeHeaderPng(width: number, height: number): Promise<Buffer> {
  const png = Buffer.from(await sharp({ create: { width: 1, height: 1, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer());
  // IHDR data starts at byte 16 (8 signature + 4 length + 4 type); its CRC covers type + data.
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)), 29);
  return png;
}

async function noiseJpeg(size: number, seed: number): Promise<Buffer> {
  const raw = Buffer.alloc(size * size * 3);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 31 + seed * 17) % 251;
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** Cuts a file to 60 % of its bytes: the header survives, the pixel data does not. */
async function truncate(file: string): Promise<void> {
  const bytes = await fs.readFile(file);
  await fs.writeFile(file, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
}

const BAD = ['scratches/truncated.jpg', 'inclusion/large-truncated.jpg', 'scratches/empty.png', 'inclusion/notes.png', 'inclusion/huge-header.png'];
const ODD_BUT_FINE = ['scratches/gray16.png', 'inclusion/cmyk.jpg', 'scratches/palette.png', 'inclusion/one-pixel.png'];

describe('images that do not decode', () => {
  let base: string;
  let root: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await initBackend();
    ({ dir: base, cleanup } = await makeTempDir('bad-images'));
    root = path.join(base, 'datasets');
    await generateSampleDataset(path.join(root, 'clean'), { perClass: 12, size: 48, seed: 4, classes: ['scratches', 'inclusion'] });
    const messy = path.join(root, 'messy');
    await fs.cp(path.join(root, 'clean'), messy, { recursive: true });
    const at = (id: string) => path.join(messy, id);
    await fs.writeFile(at('scratches/truncated.jpg'), (await noiseJpeg(64, 1)).subarray(0, 700));
    // Over a megapixel: the check shrinks it on load, which must still read (and miss) the lost tail.
    const large = await noiseJpeg(1100, 2);
    await fs.writeFile(at('inclusion/large-truncated.jpg'), large.subarray(0, Math.floor(large.length * 0.6)));
    await fs.writeFile(at('scratches/empty.png'), '');
    await fs.writeFile(at('inclusion/notes.png'), 'a text file renamed to .png');
    await fs.writeFile(at('inclusion/huge-header.png'), await hugeHeaderPng(12_000, 12_000));
    await writeGray16Png(at('scratches/gray16.png'), 24, 24, 40_000);
    await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 200, g: 60, b: 40 } } })
      .toColourspace('cmyk')
      .jpeg()
      .toFile(at('inclusion/cmyk.jpg'));
    const rgba = Buffer.alloc(20 * 20 * 4, 90);
    await sharp(rgba, { raw: { width: 20, height: 20, channels: 4 } }).png({ palette: true }).toFile(at('scratches/palette.png'));
    await writePng(at('inclusion/one-pixel.png'), 1, 1, 3, 128);
  });
  afterAll(() => cleanup());

  it('makes the fixtures it claims: 16-bit, CMYK and palette files that sharp reads as such', async () => {
    const messy = path.join(root, 'messy');
    expect((await sharp(path.join(messy, 'scratches/gray16.png')).metadata()).depth).toBe('ushort');
    expect((await sharp(path.join(messy, 'inclusion/cmyk.jpg')).metadata()).space).toBe('cmyk');
    expect((await sharp(path.join(messy, 'scratches/palette.png')).metadata()).isPalette).toBe(true);
    expect((await sharp(path.join(messy, 'inclusion/huge-header.png')).metadata()).width).toBe(12_000);
  });

  it('the dataset check decodes every image: it names the bad files and keeps the odd but valid ones', async () => {
    const m = await loadDataset({ root, path: 'messy' });
    const ids = m.items.map((i) => i.id);
    for (const bad of BAD) expect(ids).not.toContain(bad);
    for (const fine of ODD_BUT_FINE) expect(ids).toContain(fine);
    expect(m.items).toHaveLength(24 + ODD_BUT_FINE.length);
    const warning = m.warnings.find((w) => w.code === 'unreadable_files');
    expect([...(warning?.files ?? [])].sort()).toEqual([...BAD].sort());
    expect(warning?.message).toMatch(/premature end|truncated|corrupt/i);
    // The huge header is refused by the pixel limit, in words that name it, before any decode.
    expect(warning?.message).toContain('inclusion/huge-header.png (12000×12000 = 144.0 megapixels is over the image pixel limit of 100.0 megapixels (IMAGE_MAX_PIXELS))');
    expect(IMAGE_MAX_PIXELS).toBe(100_000_000);
  });

  it('refuses a huge-header image at every decode, naming the file and the limit', async () => {
    const file = path.join(root, 'messy', 'inclusion/huge-header.png');
    await expect(readImageAsFloat(file, 32, { describeSource: false })).rejects.toThrow(/huge-header\.png: .*IMAGE_MAX_PIXELS/);
    // A lower limit applies the same way to ordinary images.
    const small = path.join(root, 'messy', 'inclusion/cmyk.jpg');
    await expect(readImageAsFloat(small, 32, { maxPixels: 1000 })).rejects.toThrow(/cmyk\.jpg: 40×30 = 1200 pixels is over the image pixel limit of 1000 pixels \(IMAGE_MAX_PIXELS\)/);
  });

  it('trains and evaluates on the images that decode', async () => {
    const m = await loadDataset({ root, path: 'messy', valRatio: 0.2, testRatio: 0.2 });
    const backbone = await loadBackbone({ source: 'scratch', inputSize: 32, cutAt: 'block_3_expand_relu' });
    const warnings: string[] = [];
    const trained = await trainOnDataset({ manifest: m, backbone, epochs: 2, earlyStopping: false, warn: (w) => warnings.push(w) });
    expect(trained.trainViews).toBe(m.items.filter((i) => i.split === 'train').length);
    const test = m.items.filter((i) => i.split === 'test');
    const predicted = await predictDatasetItems(trained, test, { datasetSignature: m.signature });
    expect(predicted.skipped).toEqual([]);
    expect(predicted.probs).toHaveLength(test.length * 2);
    expect(warnings).toEqual([]);
    disposeTrained(trained);
  });

  describe('a file that stops decoding after the check', () => {
    /** A fresh copy of the clean set, checked while whole; `damage` then truncates some of its files. */
    async function checkedThenDamaged(name: string, damage: (m: DatasetManifest) => DatasetManifest['items']) {
      await fs.cp(path.join(root, 'clean'), path.join(root, name), { recursive: true });
      const m = await loadDataset({ root, path: name, valRatio: 0.2, testRatio: 0.2 });
      const damaged = damage(m);
      for (const item of damaged) await truncate(item.path);
      return { m, damaged };
    }

    it('is skipped at train and evaluate time with a warning naming it', async () => {
      const { m, damaged } = await checkedThenDamaged('late-train', (m) => [
        m.items.find((i) => i.split === 'train') as DatasetManifest['items'][number],
        m.items.find((i) => i.split === 'test') as DatasetManifest['items'][number],
      ]);
      const [trainBad, testBad] = damaged as [DatasetManifest['items'][number], DatasetManifest['items'][number]];
      const backbone = await loadBackbone({ source: 'scratch', inputSize: 32, cutAt: 'block_3_expand_relu' });
      const warnings: string[] = [];
      const trained = await trainOnDataset({ manifest: m, backbone, epochs: 2, earlyStopping: false, warn: (w) => warnings.push(w) });
      const trainCount = m.items.filter((i) => i.split === 'train').length;
      expect(trained.trainViews).toBe(trainCount - 1);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain(`1 of ${trainCount} train images could not be decoded and was skipped: ${trainBad.id} (`);

      const test = m.items.filter((i) => i.split === 'test');
      const evalWarnings: string[] = [];
      const predicted = await predictDatasetItems(trained, test, { datasetSignature: m.signature, split: 'test', warn: (w) => evalWarnings.push(w) });
      expect(predicted.skipped.map((s) => s.id)).toEqual([testBad.id]);
      expect(predicted.items.map((i) => i.id)).toEqual(test.filter((i) => i.id !== testBad.id).map((i) => i.id));
      expect(predicted.probs).toHaveLength((test.length - 1) * 2);
      expect(evalWarnings[0]).toContain(`${testBad.id} (`);
      disposeTrained(trained);
    });

    it('fails the node, naming the class, when every training image of a class is unreadable', async () => {
      const { m } = await checkedThenDamaged('late-class', (m) => m.items.filter((i) => i.split === 'train' && m.classes[i.label] === 'inclusion'));
      const backbone = await loadBackbone({ source: 'scratch', inputSize: 32, cutAt: 'block_3_expand_relu' });
      const err = await trainOnDataset({ manifest: m, backbone, epochs: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnreadableImagesError);
      expect((err as UnreadableImagesError).code).toBe('images_unreadable');
      expect((err as Error).message).toMatch(/^every train image of class "inclusion" failed to decode/);
    });

    it('fails the node when more than 5 % of a split is unreadable, listing the files', async () => {
      // 2 of the ~14 training images (one per class): over 5 %, and no class emptied.
      const { m, damaged } = await checkedThenDamaged('late-many', (m) =>
        m.classes.map((_c, label) => m.items.find((i) => i.split === 'train' && i.label === label) as DatasetManifest['items'][number]),
      );
      const backbone = await loadBackbone({ source: 'scratch', inputSize: 32, cutAt: 'block_3_expand_relu' });
      const err = await trainOnDataset({ manifest: m, backbone, epochs: 1 }).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UnreadableImagesError);
      const trainCount = m.items.filter((i) => i.split === 'train').length;
      expect((err as Error).message).toContain(`2 of ${trainCount} train images failed to decode, more than the 5 % a run skips`);
      for (const d of damaged) expect((err as Error).message).toContain(d.id);
    });
  });
});
