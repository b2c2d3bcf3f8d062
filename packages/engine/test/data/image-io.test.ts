import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_AUGMENT_POLICY,
  ImageReadError,
  createImageSource,
  readImageAsFloat,
  readImagesBatch,
  thumbnail,
} from '../../src/data/index.ts';
import { makeTempDir, writeGray16Png, writePng } from './helpers.ts';

function stats(data: Float32Array) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
    sum += v;
  }
  return { min, max, mean: sum / data.length };
}

describe('image I/O', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const f = (name: string) => path.join(dir, name);

  beforeAll(async () => {
    ({ dir, cleanup } = await makeTempDir('imageio'));
    await writeGray16Png(f('gray16.png'), 40, 30, 65535);
    await writeGray16Png(f('gray16-half.png'), 40, 30, 32768);
    await writePng(f('gray8.png'), 50, 50, 1, 100);
    await writePng(f('odd.png'), 37, 91, 3, 77);
    // RGBA: left half opaque red, right half fully transparent white.
    const rgba = Buffer.alloc(20 * 20 * 4);
    for (let y = 0; y < 20; y++) {
      for (let x = 0; x < 20; x++) {
        const i = (y * 20 + x) * 4;
        if (x < 10) rgba.set([255, 0, 0, 255], i);
        else rgba.set([255, 255, 255, 0], i);
      }
    }
    await sharp(rgba, { raw: { width: 20, height: 20, channels: 4 } }).png().toFile(f('rgba.png'));
    await sharp(rgba, { raw: { width: 20, height: 20, channels: 4 } }).png({ palette: true }).toFile(f('palette.png'));
    const rgb16 = new Uint16Array(16 * 16 * 3).fill(65535);
    await sharp(rgb16, { raw: { width: 16, height: 16, channels: 3 } })
      .toColourspace('rgb16')
      .tiff()
      .toFile(f('rgb16.tif'));
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 10, g: 200, b: 30 } } }).jpeg().toFile(f('rgb.jpg'));
    const png = await fs.readFile(f('odd.png'));
    await fs.writeFile(f('truncated.png'), png.subarray(0, Math.floor(png.length / 2)));
    await fs.writeFile(f('text.png'), 'this is a text file renamed to .png\n');
  });
  afterAll(() => cleanup());

  it.each(['gray16.png', 'gray8.png', 'odd.png', 'rgba.png', 'palette.png', 'rgb16.tif', 'rgb.jpg'])(
    '%s comes out size×size×3 in 0..255',
    async (name) => {
      const img = await readImageAsFloat(f(name), 24);
      expect(img.data).toBeInstanceOf(Float32Array);
      expect(img.data.length).toBe(24 * 24 * 3);
      expect([img.width, img.height, img.channels]).toEqual([24, 24, 3]);
      const s = stats(img.data);
      expect(s.min).toBeGreaterThanOrEqual(0);
      expect(s.max).toBeLessThanOrEqual(255);
    },
  );

  it('scales 16-bit images to 8-bit values and repeats gray into R, G and B', async () => {
    const full = await readImageAsFloat(f('gray16.png'), 8);
    expect(stats(full.data).min).toBe(255);
    const half = await readImageAsFloat(f('gray16-half.png'), 8);
    expect(Math.abs(stats(half.data).mean - 127.5)).toBeLessThanOrEqual(1); // 32768 / 257
    expect(half.source).toMatchObject({ width: 40, height: 30, channels: 1, depth: 'ushort' });
    const rgb16 = await readImageAsFloat(f('rgb16.tif'), 8);
    expect(stats(rgb16.data).min).toBe(255);
  });

  it('keeps RGB channel order', async () => {
    const img = await readImageAsFloat(f('rgb.jpg'), 4);
    const [r, g, b] = img.data;
    expect(r).toBeLessThan(40);
    expect(g).toBeGreaterThan(170);
    expect(b).toBeLessThan(60);
  });

  it('flattens transparency onto black by default, or onto the given background', async () => {
    const img = await readImageAsFloat(f('rgba.png'), 20);
    const px = (x: number, y: number) => Array.from(img.data.subarray((y * 20 + x) * 3, (y * 20 + x) * 3 + 3));
    expect(px(2, 10)).toEqual([255, 0, 0]);
    expect(px(17, 10)).toEqual([0, 0, 0]);
    const gray = await readImageAsFloat(f('rgba.png'), 20, { background: { r: 128, g: 128, b: 128 } });
    expect(Array.from(gray.data.subarray((10 * 20 + 17) * 3, (10 * 20 + 17) * 3 + 3))).toEqual([128, 128, 128]);
  });

  it('applies EXIF orientation', async () => {
    // Stored 20×10, left half black; orientation 6 means "rotate 90° clockwise to display": black ends on top.
    const raw = Buffer.alloc(20 * 10 * 3);
    for (let y = 0; y < 10; y++) for (let x = 10; x < 20; x++) raw.fill(255, (y * 20 + x) * 3, (y * 20 + x) * 3 + 3);
    await sharp(raw, { raw: { width: 20, height: 10, channels: 3 } }).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toFile(f('exif6.jpg'));
    const img = await readImageAsFloat(f('exif6.jpg'), 10);
    expect(img.source).toMatchObject({ width: 10, height: 20 });
    expect(img.data[(0 * 10 + 5) * 3]).toBeLessThan(30);
    expect(img.data[(9 * 10 + 5) * 3]).toBeGreaterThan(225);
    // Without the metadata read (the training path) the pixels are the same, orientation included.
    const lean = await readImageAsFloat(f('exif6.jpg'), 10, { describeSource: false });
    expect(lean.source).toBeNull();
    expect(Array.from(lean.data)).toEqual(Array.from(img.data));
  });

  it('stretches non-square images with fit "fill" (no border content lost)', async () => {
    const img = await readImageAsFloat(f('odd.png'), 16);
    expect(img.source).toMatchObject({ width: 37, height: 91 });
    const s = stats(img.data);
    expect(s.min).toBe(77);
    expect(s.max).toBe(77);
  });

  it('throws ImageReadError naming the file for truncated, non-image and missing files', async () => {
    for (const name of ['truncated.png', 'text.png', 'missing.png']) {
      const err = await readImageAsFloat(f(name), 16).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageReadError);
      expect((err as ImageReadError).file).toBe(f(name));
      expect((err as Error).message).toContain(name);
    }
  });

  it('readImagesBatch returns the good images in order and names each bad file, without throwing', async () => {
    const paths = ['gray8.png', 'text.png', 'odd.png', 'truncated.png', 'rgba.png'].map(f);
    const progress: number[] = [];
    const result = await readImagesBatch(paths, 16, { concurrency: 2, onProgress: (done) => progress.push(done) });
    expect(result.images.map((i) => path.basename(i.path))).toEqual(['gray8.png', 'odd.png', 'rgba.png']);
    expect(result.images.map((i) => i.index)).toEqual([0, 2, 4]);
    expect(result.images.every((i) => i.data.length === 16 * 16 * 3)).toBe(true);
    expect(result.failures.map((x) => path.basename(x.path)).sort()).toEqual(['text.png', 'truncated.png']);
    expect(result.failures.every((x) => x.reason.length > 0)).toBe(true);
    expect(progress.at(-1)).toBe(5);
  });

  it('readImagesBatch stops on abort', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(readImagesBatch([f('gray8.png')], 16, { signal: controller.signal })).rejects.toThrow(/abort/i);
  });

  it('thumbnail returns a JPEG or PNG that fits inside px×px', async () => {
    const jpeg = await thumbnail(f('odd.png'), 32);
    expect(jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
    const meta = await sharp(jpeg).metadata();
    expect(meta.height).toBe(32);
    expect(meta.width).toBeLessThan(32);
    const png = await thumbnail(f('rgba.png'), 100, { format: 'png' });
    expect((await sharp(png).metadata()).format).toBe('png');
    expect((await sharp(png).metadata()).width).toBe(20); // never enlarged
    await expect(thumbnail(f('text.png'), 32)).rejects.toBeInstanceOf(ImageReadError);
  });

  it('createImageSource loads ranges on demand, names a bad file, or blanks it on request', async () => {
    const source = createImageSource([f('gray8.png'), f('odd.png'), f('text.png')], 8);
    expect(source.count).toBe(3);
    const first = await source.load(0, 2);
    expect(first.map((a) => a.length)).toEqual([8 * 8 * 3, 8 * 8 * 3]);
    expect(first[1]?.[0]).toBe(77);
    await expect(source.load(1, 3)).rejects.toThrow(/text\.png/);
    const lenient = createImageSource([f('text.png'), f('gray8.png')], 8, { onFailure: 'blank' });
    const got = await lenient.load(0, 2);
    expect(got[1]?.[0]).toBe(100);
    expect(lenient.failures.map((x) => path.basename(x.path))).toEqual(['text.png']);
  });

  it('createImageSource augments reproducibly per file and view', async () => {
    const files = [f('rgb.jpg'), f('odd.png')];
    const a = createImageSource(files, 8, { augment: DEFAULT_AUGMENT_POLICY, view: 1 });
    const [a0, a1] = await a.load(0, 2);
    const [b1] = await a.load(1, 2); // another range, same image → same augmented view
    expect(b1).toEqual(a1);
    const [c0] = await createImageSource(files, 8, { augment: DEFAULT_AUGMENT_POLICY, view: 2 }).load(0, 1);
    expect(c0).not.toEqual(a0);
  });
});
