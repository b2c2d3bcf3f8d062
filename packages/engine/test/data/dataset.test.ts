import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DatasetError,
  type DatasetManifest,
  STEEL_DEFECT_CLASSES,
  generateMvtecSample,
  generateSampleDataset,
  loadDataset,
  readImagesBatch,
} from '../../src/data/index.ts';
import { makeTempDir, writePng } from './helpers.ts';

const PER_CLASS = 8;

function splitOf(m: DatasetManifest): Record<string, string> {
  return Object.fromEntries(m.items.map((i) => [i.id, i.split]));
}

async function expectDatasetError(promise: Promise<unknown>, code: string, text: RegExp): Promise<DatasetError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  expect((err as DatasetError).code).toBe(code);
  expect((err as Error).message).toMatch(text);
  return err as DatasetError;
}

describe('loadDataset', () => {
  let base: string;
  let root: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir: base, cleanup } = await makeTempDir('dataset'));
    root = path.join(base, 'datasets');
    await fs.mkdir(root);
    await generateSampleDataset(path.join(root, 'steel'), { perClass: PER_CLASS, size: 64, seed: 3 });
  });
  afterAll(() => cleanup());

  describe('folder-per-class layout', () => {
    it('finds sorted classes, every image, and per-class counts', async () => {
      const m = await loadDataset({ root, path: 'steel' });
      expect(m.layout).toBe('folders');
      expect(m.root).toBe(path.join(root, 'steel'));
      expect(m.classes).toEqual([...STEEL_DEFECT_CLASSES].sort());
      expect(m.items).toHaveLength(6 * PER_CLASS);
      for (const item of m.items) {
        const cls = m.classes[item.label] as string;
        expect(item.id.startsWith(`${cls}/`)).toBe(true);
        expect(item.path).toBe(path.join(root, 'steel', ...item.id.split('/')));
      }
      for (const cls of m.classes) {
        expect(m.counts[cls]).toEqual({ train: 6, val: 1, test: 1, total: PER_CLASS });
      }
      expect(m.imageStats.sizes).toEqual({ '64x64': 6 * PER_CLASS });
      // README.txt at the top level is not a class and not a warning.
      expect(m.warnings.map((w) => w.code)).not.toContain('ignored_files');
      expect(m.warnings.find((w) => w.code === 'small_class')?.message).toContain('crazing (8)');
    });

    it('splits the same way for the same seed and differently for another seed', async () => {
      const a = await loadDataset({ root, path: 'steel', seed: 7 });
      const b = await loadDataset({ root, path: 'steel', seed: 7 });
      const c = await loadDataset({ root, path: 'steel', seed: 8 });
      expect(splitOf(a)).toEqual(splitOf(b));
      expect(a.signature).toBe(b.signature);
      expect(splitOf(a)).not.toEqual(splitOf(c));
      expect(a.signature).not.toBe(c.signature);
    });

    it('respects the ratios per class within ±1 and keeps a val image in every class', async () => {
      for (const [valRatio, testRatio] of [
        [0.15, 0.15],
        [0.3, 0.2],
        [0.05, 0.5],
        [0.5, 0],
      ] as const) {
        const m = await loadDataset({ root, path: 'steel', valRatio, testRatio, seed: 1 });
        for (const cls of m.classes) {
          const c = m.counts[cls];
          expect(c).toBeDefined();
          if (!c) continue;
          expect(Math.abs(c.val - c.total * valRatio)).toBeLessThanOrEqual(1);
          expect(Math.abs(c.test - c.total * testRatio)).toBeLessThanOrEqual(1);
          expect(c.val).toBeGreaterThanOrEqual(1);
          expect(c.train).toBeGreaterThanOrEqual(1);
          expect(c.train + c.val + c.test).toBe(c.total);
        }
      }
    });

    it('caps images per class with a seeded choice', async () => {
      const a = await loadDataset({ root, path: 'steel', maxPerClass: 3, seed: 5 });
      const b = await loadDataset({ root, path: 'steel', maxPerClass: 3, seed: 5 });
      expect(a.items).toHaveLength(18);
      expect(a.items.map((i) => i.id)).toEqual(b.items.map((i) => i.id));
      for (const cls of a.classes) expect(a.counts[cls]).toEqual({ train: 2, val: 1, test: 0, total: 3 });
    });

    it('changes the signature when a file changes', async () => {
      const before = await loadDataset({ root, path: 'steel' });
      const file = path.join(root, 'steel', 'crazing', 'crazing_1.png');
      const stat = await fs.stat(file);
      await fs.utimes(file, stat.atime, new Date(stat.mtimeMs + 5000));
      const after = await loadDataset({ root, path: 'steel' });
      expect(after.signature).not.toBe(before.signature);
    });
  });

  describe('bad files', () => {
    let dir: string;
    beforeAll(async () => {
      dir = path.join(root, 'messy');
      for (const cls of ['scratches', 'inclusion']) {
        await fs.cp(path.join(root, 'steel', cls), path.join(dir, cls), { recursive: true });
      }
      const png = await fs.readFile(path.join(dir, 'scratches', 'scratches_1.png'));
      await fs.writeFile(path.join(dir, 'scratches', 'truncated.png'), png.subarray(0, 20));
      await fs.writeFile(path.join(dir, 'inclusion', 'notes.png'), 'a text file renamed to .png');
      await fs.writeFile(path.join(dir, 'inclusion', 'notes.txt'), 'not an image');
      // Same bytes in two classes: the labels contradict each other.
      await fs.copyFile(path.join(dir, 'scratches', 'scratches_2.png'), path.join(dir, 'inclusion', 'copy.png'));
      await fs.writeFile(path.join(base, 'outside.png'), png);
      await fs.symlink(path.join(base, 'outside.png'), path.join(dir, 'inclusion', 'link-out.png'));
      await writePng(path.join(dir, 'inclusion', 'odd-size.png'), 37, 91, 3, 120);
    });

    it('skips unreadable files, naming each, while the rest load', async () => {
      const m = await loadDataset({ root, path: 'messy' });
      const ids = m.items.map((i) => i.id);
      expect(ids).not.toContain('scratches/truncated.png');
      expect(ids).not.toContain('inclusion/notes.png');
      expect(m.counts.scratches?.total).toBe(PER_CLASS);
      expect(m.counts.inclusion?.total).toBe(PER_CLASS + 2); // + copy.png and odd-size.png
      const unreadable = m.warnings.find((w) => w.code === 'unreadable_files');
      expect(unreadable?.files).toEqual(expect.arrayContaining(['scratches/truncated.png', 'inclusion/notes.png']));
      expect(unreadable?.message).toContain('inclusion/notes.png');
      expect(m.warnings.find((w) => w.code === 'ignored_files')?.files).toEqual(['inclusion/notes.txt']);
    });

    it('finds a file cut after its header by decoding it fully, and names it; a header-only check does not', async () => {
      const dir2 = path.join(root, 'tailcut');
      for (const cls of ['patches', 'crazing']) {
        await fs.cp(path.join(root, 'steel', cls), path.join(dir2, cls), { recursive: true });
      }
      const png = await fs.readFile(path.join(dir2, 'patches', 'patches_1.png'));
      await fs.writeFile(path.join(dir2, 'patches', 'patches_1.png'), png.subarray(0, Math.floor(png.length * 0.6)));
      const full = await loadDataset({ root, path: 'tailcut' });
      expect(full.items.map((i) => i.id)).not.toContain('patches/patches_1.png');
      expect(full.items).toHaveLength(2 * PER_CLASS - 1);
      expect(full.warnings.find((w) => w.code === 'unreadable_files')?.files).toEqual(['patches/patches_1.png']);
      // The cheaper header check leaves the lost tail to the decoder, which names the file.
      const m = await loadDataset({ root, path: 'tailcut', checkImages: 'header' });
      expect(m.items).toHaveLength(2 * PER_CLASS);
      const decoded = await readImagesBatch(
        m.items.map((i) => i.path),
        32,
      );
      expect(decoded.images).toHaveLength(2 * PER_CLASS - 1);
      expect(decoded.failures.map((f) => path.relative(dir2, f.path))).toEqual([path.join('patches', 'patches_1.png')]);
    });

    it('warns about identical files under different classes', async () => {
      const m = await loadDataset({ root, path: 'messy' });
      const dup = m.warnings.find((w) => w.code === 'duplicates_across_classes');
      expect(dup?.files?.sort()).toEqual(['inclusion/copy.png', 'scratches/scratches_2.png']);
      expect(dup?.message).toContain('scratches/scratches_2.png');
    });

    it('skips symlinks that leave the datasets root', async () => {
      const m = await loadDataset({ root, path: 'messy' });
      expect(m.items.map((i) => i.id)).not.toContain('inclusion/link-out.png');
      expect(m.warnings.find((w) => w.code === 'path_outside_root')?.files).toEqual(['inclusion/link-out.png']);
    });

    it('reports mixed image sizes', async () => {
      const m = await loadDataset({ root, path: 'messy' });
      expect(m.warnings.find((w) => w.code === 'mixed_sizes')?.message).toMatch(/37x91/);
      expect(m.warnings.map((w) => w.code)).toContain('mixed_channels');
    });

    it('warns about class imbalance above 3:1', async () => {
      const dir2 = path.join(root, 'imbalanced');
      for (let k = 0; k < 13; k++) await writePng(path.join(dir2, 'ok', `${k}.png`), 8, 8, 1, k * 10);
      for (let k = 0; k < 3; k++) await writePng(path.join(dir2, 'dent', `${k}.png`), 8, 8, 1, 200 + k);
      const m = await loadDataset({ root, path: 'imbalanced' });
      expect(m.warnings.find((w) => w.code === 'imbalance')?.message).toMatch(/4\.3:1.*ok: 13.*dent: 3/);
    });
  });

  describe('MVTec layout', () => {
    it('keeps MVTec test/good as test, splits train/good into train/val and spreads defects over all splits', async () => {
      await generateMvtecSample(path.join(root, 'mvtec', 'plate'), { trainGood: 10, testGood: 4, perDefect: 6, size: 32 });
      const m = await loadDataset({ root, path: 'mvtec/plate' });
      expect(m.layout).toBe('mvtec');
      expect(m.classes).toEqual(['good', 'pit', 'scratch']);
      expect(m.counts.good).toEqual({ train: 8, val: 2, test: 4, total: 14 });
      expect(m.counts.pit).toEqual({ train: 4, val: 1, test: 1, total: 6 });
      expect(m.counts.scratch).toEqual({ train: 4, val: 1, test: 1, total: 6 });
      const good = m.items.filter((i) => m.classes[i.label] === 'good');
      for (const item of good) expect(item.split === 'test').toBe(item.id.startsWith('test/'));
      expect(m.items.some((i) => i.id.startsWith('ground_truth/'))).toBe(false);
      const again = await loadDataset({ root, path: 'mvtec/plate', layout: 'mvtec' });
      expect(splitOf(again)).toEqual(splitOf(m));
    });
  });

  describe('CSV layout', () => {
    it('reads path,label[,split] relative to the CSV folder, keeping given splits', async () => {
      const dir = path.join(root, 'csvset');
      await fs.mkdir(path.join(dir, 'meta'), { recursive: true });
      const rows = ['path,label,split'];
      for (const cls of ['scratches', 'patches']) {
        await fs.cp(path.join(root, 'steel', cls), path.join(dir, 'img', cls), { recursive: true });
        for (let k = 1; k <= PER_CLASS; k++) {
          const split = k === 1 ? 'test' : k === 2 ? 'validation' : '';
          rows.push(`../img/${cls}/${cls}_${k}.png,${cls === 'scratches' ? '"scratch, long"' : 'patch'},${split}`);
        }
      }
      rows.push('../img/crazing/does-not-exist.png,patch,');
      await fs.writeFile(path.join(dir, 'meta', 'labels.csv'), `${rows.join('\r\n')}\r\n`);
      await fs.writeFile(path.join(dir, 'labels.csv'), `${rows.map((r) => r.replace('../img/', 'img/')).join('\r\n')}\r\n`);
      const m = await loadDataset({ root, path: 'csvset' });
      expect(m.layout).toBe('csv');
      expect(m.classes).toEqual(['patch', 'scratch, long']);
      expect(m.items).toHaveLength(2 * PER_CLASS);
      expect(m.items.find((i) => i.id === 'img/scratches/scratches_1.png')?.split).toBe('test');
      expect(m.items.find((i) => i.id === 'img/patches/patches_2.png')?.split).toBe('val');
      expect(m.counts.patch?.test).toBeGreaterThanOrEqual(1);
      expect(m.warnings.find((w) => w.code === 'missing_files')?.files).toEqual(['img/crazing/does-not-exist.png']);
      // A CSV file can also be named directly.
      const direct = await loadDataset({ root, path: 'csvset/labels.csv' });
      expect(splitOf(direct)).toEqual(splitOf(m));
      // A CSV in a subfolder (csvFile) reaches up, within the dataset folder; ids stay relative to the dataset.
      const nested = await loadDataset({ root, path: 'csvset', csvFile: 'meta/labels.csv', layout: 'csv' });
      expect(splitOf(nested)).toEqual(splitOf(m));
    });

    it('reports a malformed CSV with its line number', async () => {
      const dir = path.join(root, 'badcsv');
      await fs.mkdir(dir);
      const write = (text: string) => fs.writeFile(path.join(dir, 'labels.csv'), text);
      await write('file,class\na.png,x\n');
      await expectDatasetError(loadDataset({ root, path: 'badcsv' }), 'csv_invalid', /labels\.csv line 1: header/);
      await write('path,label\ncrazing_1.png,crazing\ncrazing_2.png\n');
      const err = await expectDatasetError(loadDataset({ root, path: 'badcsv', layout: 'csv' }), 'csv_invalid', /line 3/);
      expect(err.details.line).toBe(3);
      await write('path,label,split\ncrazing_1.png,crazing,holdout\n');
      await expectDatasetError(loadDataset({ root, path: 'badcsv' }), 'csv_invalid', /line 2: split "holdout"/);
      await write('path,label\n../../outside.png,crazing\n');
      await expectDatasetError(loadDataset({ root, path: 'badcsv' }), 'path_outside_root', /line 2: path "\.\.\/\.\.\/outside\.png"/);
      await write('path,label\ncrazing_1.png,a\ncrazing_1.png,b\n');
      await expectDatasetError(loadDataset({ root, path: 'badcsv' }), 'csv_invalid', /line 3: .* already listed on line 2/);
    });

    it('confines CSV rows and the CSV file to their own dataset folder, naming the row', async () => {
      const dir = path.join(root, 'confined');
      await fs.mkdir(dir);
      await fs.cp(path.join(root, 'steel', 'crazing', 'crazing_1.png'), path.join(dir, 'own.png'));
      const write = (text: string) => fs.writeFile(path.join(dir, 'labels.csv'), text);
      // Another dataset under the same root is out of reach too, not only the rest of the disk.
      for (const rel of ['../steel/crazing/crazing_1.png', '../../../../../../etc/passwd', '/etc/passwd']) {
        await write(`path,label\nown.png,crazing\n${rel},crazing\n`);
        const err = await expectDatasetError(loadDataset({ root, path: 'confined' }), 'path_outside_root', /labels\.csv line 3: .*outside the dataset folder/);
        expect(err.details).toMatchObject({ line: 3, path: rel });
      }
      await fs.symlink(path.join(root, 'steel', 'crazing'), path.join(dir, 'link'));
      await write('path,label\nlink/crazing_1.png,crazing\n');
      await expectDatasetError(loadDataset({ root, path: 'confined' }), 'path_outside_root', /line 2: path "link\/crazing_1\.png"/);
      await expectDatasetError(
        loadDataset({ root, path: 'confined', layout: 'csv', csvFile: '../steel/labels.csv' }),
        'path_outside_root',
        /CSV file "\.\.\/steel\/labels\.csv" is outside the dataset folder "confined"/,
      );
    });
  });

  describe('errors', () => {
    it('names a missing dataset, an escaping path, an empty dataset and a single class', async () => {
      await expectDatasetError(loadDataset({ root, path: 'nope' }), 'dataset_not_found', /"nope" not found/);
      await expectDatasetError(loadDataset({ root, path: '../' }), 'path_outside_root', /"\.\.\/" is outside/);
      await expectDatasetError(loadDataset({ root, path: '/etc' }), 'path_outside_root', /"\/etc"/);
      await fs.mkdir(path.join(root, 'empty', 'scratches'), { recursive: true });
      await expectDatasetError(loadDataset({ root, path: 'empty' }), 'dataset_empty', /"empty" contains no images/);
      await fs.cp(path.join(root, 'steel', 'crazing'), path.join(root, 'single', 'crazing'), { recursive: true });
      await expectDatasetError(loadDataset({ root, path: 'single' }), 'too_few_classes', /1 class with images \(crazing\)/);
    });

    it('refuses ratios outside 0..0.5', async () => {
      await expect(loadDataset({ root, path: 'steel', valRatio: 0.7 })).rejects.toThrow(/valRatio/);
    });
  });
});
