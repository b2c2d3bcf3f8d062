import fs from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { throwIfAborted } from '../errors.ts';
import { createRng, hashSeed, type Rng } from '../rng.ts';
import {
  type DefectRenderer,
  drawCrazing,
  drawDistractors,
  drawInclusion,
  drawPatches,
  drawPittedSurface,
  drawRolledInScale,
  drawScratches,
} from './defects.ts';
import { createLayer } from './draw.ts';
import { NORMAL_TABLE } from './sensor-noise.ts';
import { lightingField, steelTexture } from './steel.ts';
import { TILE_CLASSES, type TileClass, drawTileSize, renderTileSample, tileClassCounts } from './tiles.ts';

/** The six NEU surface defect classes, in NEU's order. */
export const STEEL_DEFECT_CLASSES = [
  'crazing',
  'inclusion',
  'patches',
  'pitted_surface',
  'rolled-in_scale',
  'scratches',
] as const;
export type SteelDefectClass = (typeof STEEL_DEFECT_CLASSES)[number];

const RENDERERS: Record<SteelDefectClass, DefectRenderer> = {
  crazing: drawCrazing,
  inclusion: drawInclusion,
  patches: drawPatches,
  pitted_surface: drawPittedSurface,
  'rolled-in_scale': drawRolledInScale,
  scratches: drawScratches,
};

/**
 * Renders one grayscale steel image (size×size, 8-bit) with the given defect, or a clean
 * surface for 'good'. Brightness and contrast are drawn per image independently of the class.
 */
export function renderSteelImage(defect: SteelDefectClass | 'good', size: number, rng: Rng): Uint8Array {
  return renderSteelSample(defect, size, rng).pixels;
}

/** Like renderSteelImage, plus the defect mask (255 where the defect changes intensity by > 8 %). */
export function renderSteelSample(
  defect: SteelDefectClass | 'good',
  size: number,
  rng: Rng,
): { pixels: Uint8Array; mask: Uint8Array } {
  const texture = steelTexture(size, rng);
  const light = lightingField(size, rng);
  const mean = rng.float(75, 175);
  const spread = rng.float(10, 30);
  const noise = rng.float(1.5, 5);
  const layer = createLayer(size);
  if (defect !== 'good') {
    // One image in eight is subtle: low contrast defects keep the task from being trivial.
    const strength = rng.bool(0.125) ? rng.float(0.3, 0.55) : rng.float(0.75, 1.25);
    RENDERERS[defect](layer, rng, strength);
  }
  const defectOnly = layer.data.slice();
  drawDistractors(layer, rng);
  const transpose = rng.bool(0.5); // rolling direction horizontal or vertical
  const pixels = new Uint8Array(size * size);
  const mask = new Uint8Array(size * size);
  const d = layer.data;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const di = d[i] as number;
      const rel = di < -0.85 ? -0.85 : Math.min(di, 0.9);
      const v =
        (mean + spread * (texture[i] as number)) * (1 + rel) * (light[i] as number) +
        noise * (NORMAL_TABLE[(rng.next() * 65536) | 0] as number);
      const o = transpose ? x * size + y : i;
      pixels[o] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
      const m = defectOnly[i] as number;
      mask[o] = m > 0.08 || m < -0.08 ? 255 : 0;
    }
  }
  return { pixels, mask };
}

interface RenderJob {
  file: string;
  width: number;
  height: number;
  render: () => Uint8Array;
}

async function encodePng(pixels: Uint8Array, width: number, height: number, file: string): Promise<void> {
  // Fixed encoder settings so the same pixels always give the same bytes.
  await sharp(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength), {
    raw: { width, height, channels: 1 },
  })
    .toColourspace('b-w') // otherwise sharp writes the single channel out as RGB
    .png({ compressionLevel: 6, adaptiveFiltering: false, palette: false })
    .toFile(file);
}

/**
 * Renders images on the main thread while up to `inFlight` PNG encodes run on sharp's worker
 * pool, so both cores stay busy.
 */
async function renderAll(
  jobs: RenderJob[],
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  let done = 0;
  let failure: unknown = null;
  for (const job of jobs) {
    if (failure || opts.signal?.aborted) break;
    const pixels = job.render();
    const p: Promise<void> = encodePng(pixels, job.width, job.height, job.file)
      .then(
        () => opts.onProgress?.(++done, jobs.length),
        (err: unknown) => {
          failure ??= err;
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= 4) await Promise.race(inFlight);
  }
  await Promise.all(inFlight); // let started writes finish before the caller cleans up
  throwIfAborted(opts.signal);
  if (failure) throw failure;
}

/**
 * Writes into a sibling temp folder and renames it into place, so a crash never leaves a half
 * dataset at `dir`. An existing `dir` is written into directly (files are overwritten, extra ones kept).
 */
async function writeAtomically(dir: string, fill: (target: string) => Promise<void>): Promise<void> {
  const exists = await fs.stat(dir).then(() => true, () => false);
  if (exists) {
    await fill(dir);
    return;
  }
  const tmp = `${dir}.partial-${process.pid}-${Date.now()}`;
  await fs.mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await fs.rename(tmp, dir);
  } catch (err) {
    await fs.rm(tmp, { recursive: true, force: true });
    // Another process (web start-up and the CLI, say) finished the same dataset first: keep theirs.
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await fs.stat(dir).then(() => true, () => false))) return;
    throw err;
  }
}

/** 'steel': NEU-like textures, one defect filling the image; 'small-defects': magnetic-tile-like, mostly good, small local defects. */
export const SAMPLE_DATASET_KINDS = ['steel', 'small-defects'] as const;
export type SampleDatasetKind = (typeof SAMPLE_DATASET_KINDS)[number];

export interface SampleDatasetOptions {
  kind?: SampleDatasetKind;
  /** steel only: images per class (300). */
  perClass?: number;
  /** steel only: image side in px (200). */
  size?: number;
  seed?: number;
  /** steel only: a subset of the classes. */
  classes?: readonly SteelDefectClass[];
  /** small-defects only: multiplies every class's image count (1 → 1,344 images). */
  scale?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface SampleDatasetResult {
  dir: string;
  classes: string[];
  files: number;
}

const README = (perClass: number, size: number, seed: number, classes: readonly string[]) => `SYNTHETIC DATA - not real steel photographs.

This folder was generated by defectflow (generateSampleDataset) to try the pipeline
without a real dataset. It imitates the layout and look of the NEU surface defect
database: ${classes.length} classes (${classes.join(', ')}), ${perClass} grayscale ${size}x${size}
PNG images per class, one folder per class. Seed ${seed}; the same seed gives the same files.

Each image is a procedurally textured hot-rolled steel surface (value-noise mottling,
rolling-direction streaks, illumination gradient, vignetting, sensor noise, random
brightness and contrast) with one procedurally drawn defect of the folder's class.
Models trained on it say nothing about performance on real parts.
`;

const TILE_README = (counts: Record<TileClass, number>, seed: number) => `SYNTHETIC DATA - not real magnetic tile photographs.

This folder was generated by defectflow (generateSampleDataset, kind "small-defects") to test
models on small, local defects. It imitates the magnetic-tile surface defect set: a "good"
class with about 70 % of the images and five defect classes
(${TILE_CLASSES.map((c) => `${c} ${counts[c]}`).join(', ')}), grayscale PNGs of varying size
(short side 100-260 px) and aspect ratio (1:1 to 1:3), one folder per class. Seed ${seed};
the same seed gives the same files.

Each image is a procedurally textured ground surface (mottling, grain, grinding marks,
illumination gradient, vignetting, sensor noise) with harmless marks on every image (pores,
faint grinding lines, shading, a darker border) and, outside "good", one defect covering
1-5 % of the image at a random place: blowhole (round dark pits), break (chipped corner or
edge), crack (thin dark jagged line), fray (rough streaky patch), uneven (blotch of different
brightness). Models trained on it say nothing about performance on real parts.
`;

/**
 * Writes dir/<class>/<class>_<n>.png (n from 1) plus README.txt: the NEU-style steel set by default,
 * the magnetic-tile-style small-defects set with `kind: 'small-defects'`.
 */
export async function generateSampleDataset(dir: string, options: SampleDatasetOptions = {}): Promise<SampleDatasetResult> {
  const kind = options.kind ?? 'steel';
  if (!SAMPLE_DATASET_KINDS.includes(kind)) {
    throw new RangeError(`generateSampleDataset: unknown kind "${kind}" (known: ${SAMPLE_DATASET_KINDS.join(', ')})`);
  }
  return kind === 'steel' ? generateSteel(dir, options) : generateTiles(dir, options);
}

async function generateTiles(dir: string, options: SampleDatasetOptions): Promise<SampleDatasetResult> {
  for (const key of ['perClass', 'size', 'classes'] as const) {
    if (options[key] !== undefined) throw new RangeError(`generateSampleDataset: ${key} applies to kind "steel" only; use scale for "small-defects"`);
  }
  const seed = options.seed ?? 1;
  const counts = tileClassCounts(options.scale ?? 1);
  const target = path.resolve(dir);
  await writeAtomically(target, async (out) => {
    for (const c of TILE_CLASSES) await fs.mkdir(path.join(out, c), { recursive: true });
    await fs.writeFile(path.join(out, 'README.txt'), TILE_README(counts, seed));
    const jobs = TILE_CLASSES.flatMap((c) =>
      Array.from({ length: counts[c] }, (_, k): RenderJob => {
        // Each image has its own seed; its size is drawn first so the encoder knows it before rendering.
        const rng = createRng(hashSeed(seed, 'tile', c, k + 1));
        const { width, height } = drawTileSize(rng);
        return { file: path.join(out, c, `${c}_${k + 1}.png`), width, height, render: () => renderTileSample(c, width, height, rng).pixels };
      }),
    );
    await renderAll(jobs, options);
  });
  return { dir: target, classes: [...TILE_CLASSES], files: TILE_CLASSES.reduce((n, c) => n + counts[c], 0) };
}

async function generateSteel(dir: string, options: SampleDatasetOptions): Promise<SampleDatasetResult> {
  if (options.scale !== undefined) throw new RangeError('generateSampleDataset: scale applies to kind "small-defects" only; use perClass for "steel"');
  const perClass = options.perClass ?? 300;
  const size = options.size ?? 200;
  const seed = options.seed ?? 1;
  const classes = [...(options.classes ?? STEEL_DEFECT_CLASSES)];
  if (!Number.isInteger(perClass) || perClass < 1) throw new RangeError(`generateSampleDataset: perClass must be >= 1, got ${perClass}`);
  if (!Number.isInteger(size) || size < 16) throw new RangeError(`generateSampleDataset: size must be an integer >= 16, got ${size}`);
  for (const c of classes) {
    if (!(c in RENDERERS)) throw new RangeError(`generateSampleDataset: unknown class "${c}" (known: ${STEEL_DEFECT_CLASSES.join(', ')})`);
  }
  const target = path.resolve(dir);
  await writeAtomically(target, async (out) => {
    for (const c of classes) await fs.mkdir(path.join(out, c), { recursive: true });
    await fs.writeFile(path.join(out, 'README.txt'), README(perClass, size, seed, classes));
    const jobs = classes.flatMap((c) =>
      Array.from({ length: perClass }, (_, k) => ({
        file: path.join(out, c, `${c}_${k + 1}.png`),
        width: size,
        height: size,
        // Each image has its own seed: independent of perClass, class list and render order.
        render: () => renderSteelImage(c, size, createRng(hashSeed(seed, c, k + 1))),
      })),
    );
    await renderAll(jobs, options);
  });
  return { dir: target, classes, files: classes.length * perClass };
}

export interface MvtecSampleOptions {
  trainGood?: number;
  testGood?: number;
  perDefect?: number;
  size?: number;
  seed?: number;
  signal?: AbortSignal;
}

/** MVTec defect folder name → the steel defect it is drawn with. */
export const MVTEC_SAMPLE_DEFECTS = { scratch: 'scratches', pit: 'pitted_surface' } as const;

/**
 * A small MVTec-AD-style tree: train/good, test/good, test/scratch, test/pit (000.png, 001.png, …)
 * and ground_truth/<defect>/NNN_mask.png, for tests of the MVTec loader.
 */
export async function generateMvtecSample(dir: string, options: MvtecSampleOptions = {}): Promise<{ dir: string; files: number }> {
  const size = options.size ?? 64;
  const seed = options.seed ?? 1;
  const trainGood = options.trainGood ?? 10;
  const testGood = options.testGood ?? 4;
  const perDefect = options.perDefect ?? 6;
  const target = path.resolve(dir);
  const name = (k: number) => String(k).padStart(3, '0');
  const jobs: RenderJob[] = [];
  const good = (split: string, k: number) =>
    jobs.push({
      file: path.join(target, split, 'good', `${name(k)}.png`),
      width: size,
      height: size,
      render: () => renderSteelImage('good', size, createRng(hashSeed(seed, 'mvtec', split, k))),
    });
  for (let k = 0; k < trainGood; k++) good('train', k);
  for (let k = 0; k < testGood; k++) good('test', k);
  let images = trainGood + testGood;
  for (const [folder, defect] of Object.entries(MVTEC_SAMPLE_DEFECTS)) {
    for (let k = 0; k < perDefect; k++) {
      let mask: Uint8Array | undefined;
      jobs.push({
        file: path.join(target, 'test', folder, `${name(k)}.png`),
        width: size,
        height: size,
        render: () => {
          const sample = renderSteelSample(defect, size, createRng(hashSeed(seed, 'mvtec', folder, k)));
          mask = sample.mask;
          return sample.pixels;
        },
      });
      // Rendered right after its image (jobs run in order), so the mask is ready.
      jobs.push({
        file: path.join(target, 'ground_truth', folder, `${name(k)}_mask.png`),
        width: size,
        height: size,
        render: () => mask as Uint8Array,
      });
      images++;
    }
  }
  for (const d of ['train/good', 'test/good', ...Object.keys(MVTEC_SAMPLE_DEFECTS).flatMap((f) => [`test/${f}`, `ground_truth/${f}`])]) {
    await fs.mkdir(path.join(target, d), { recursive: true });
  }
  await fs.writeFile(path.join(target, 'readme.txt'), 'SYNTHETIC DATA in MVTec AD layout, generated by defectflow for tests.\n');
  await renderAll(jobs, { signal: options.signal });
  return { dir: target, files: images };
}
