import type { Rng } from '../rng.ts';
import { createCanvas } from './draw.ts';
import { fbmRect, valueNoise1d } from './noise.ts';
import { NORMAL_TABLE } from './sensor-noise.ts';
import { type TileDefectRenderer, drawBlowhole, drawBreak, drawCrack, drawFray, drawTileDistractors, drawUneven } from './tile-defects.ts';

/** The small-defects sample's classes ("good" first), named after the magnetic-tile defect set. */
export const TILE_CLASSES = ['good', 'blowhole', 'break', 'crack', 'fray', 'uneven'] as const;
export type TileClass = (typeof TILE_CLASSES)[number];
export type TileDefectClass = Exclude<TileClass, 'good'>;

/** Images per class at scale 1: the magnetic-tile set's proportions (70.8 % good, fray the rarest). */
export const TILE_CLASS_COUNTS: Readonly<Record<TileClass, number>> = {
  good: 952,
  blowhole: 115,
  break: 85,
  crack: 57,
  fray: 32,
  uneven: 103,
};

const RENDERERS: Record<TileDefectClass, TileDefectRenderer> = {
  blowhole: drawBlowhole,
  break: drawBreak,
  crack: drawCrack,
  fray: drawFray,
  uneven: drawUneven,
};

/** Where a defect's mask counts: the layer changes intensity by more than this (as the steel mask). */
const MASK_LEVEL = 0.08;
/** Defect area as a fraction of the image: drawn in [AREA_MIN, AREA_MAX], redrawn until the mask lands in [1 %, 5 %]. */
const AREA_MIN = 0.012;
const AREA_MAX = 0.045;

/** Image size: short side 100–260 px, aspect 1:1 to 1:3 (log-uniform), either orientation. */
export function drawTileSize(rng: Rng): { width: number; height: number } {
  const short = rng.int(100, 260);
  const long = Math.round(short * Math.exp(rng.float(0, Math.log(3))));
  return rng.bool() ? { width: long, height: short } : { width: short, height: long };
}

/**
 * Ground ceramic surface centred on 0 (about [-1, 1]): mottling, fine grain and grinding marks
 * along a random direction. Weights vary a lot per image, so texture alone says nothing.
 */
function tileTexture(width: number, height: number, rng: Rng): Float32Array {
  const mottle = fbmRect(width, height, rng.float(20, 70), rng.float(20, 70), 3, 0.55, rng);
  const grain = fbmRect(width, height, rng.float(1.5, 4), rng.float(1.5, 4), 2, 0.6, rng);
  const n = width + height + 2;
  const marks = valueNoise1d(n, rng.float(1.2, 3.5), rng);
  const a = rng.float(0, Math.PI);
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  // Projection onto the grinding direction's normal, shifted to start at 0.
  const off = -Math.min(0, cos * (width - 1)) - Math.min(0, sin * (height - 1)) + 0.5;
  const wMottle = rng.float(0.3, 0.9);
  const wGrain = rng.float(0.15, 0.6);
  const wMarks = rng.bool(0.7) ? rng.float(0.1, 0.55) : 0;
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const r = x * cos + y * sin + off;
      const k = Math.min(n - 2, r | 0);
      const t = r - k;
      const m = (marks[k] as number) * (1 - t) + (marks[k + 1] as number) * t;
      out[i] = wMottle * (mottle[i] as number) + wGrain * (grain[i] as number) + wMarks * m;
    }
  }
  return out;
}

/** Illumination: a linear gradient times an off-centre vignette, around 1. */
function tileLighting(width: number, height: number, rng: Rng): (x: number, y: number) => number {
  const gx = rng.float(-0.25, 0.25);
  const gy = rng.float(-0.25, 0.25);
  const vig = rng.float(0, 0.4);
  const cx = rng.float(0.3, 0.7) * width;
  const cy = rng.float(0.3, 0.7) * height;
  const norm = (width * width + height * height) / 4;
  return (x, y) => (1 + gx * (x / width - 0.5) * 2 + gy * (y / height - 0.5) * 2) * (1 - (vig * ((x - cx) ** 2 + (y - cy) ** 2)) / norm);
}

function maskFraction(data: Float32Array): number {
  let n = 0;
  for (const v of data) if (v > MASK_LEVEL || v < -MASK_LEVEL) n++;
  return n / data.length;
}

/** Draws the defect until its mask covers 1–5 % of the image (rescaling the target each time it misses). */
function drawDefect(cls: TileDefectClass, width: number, height: number, rng: Rng) {
  const target = rng.float(AREA_MIN, AREA_MAX);
  let ask = target;
  let canvas = createCanvas(width, height);
  for (let attempt = 0; attempt < 8; attempt++) {
    canvas = createCanvas(width, height);
    RENDERERS[cls](canvas, rng, ask * width * height);
    const got = maskFraction(canvas.data);
    if (got >= 0.01 && got <= 0.05) break;
    ask *= target / Math.max(got, 1e-4);
  }
  return canvas;
}

export interface TileSample {
  width: number;
  height: number;
  /** Grayscale, row-major, 8-bit. */
  pixels: Uint8Array;
  /** 255 where the defect changes intensity by more than 8 %. */
  mask: Uint8Array;
}

/** Renders one tile image of the given size with the class's defect (none for 'good'). */
export function renderTileSample(cls: TileClass, width: number, height: number, rng: Rng): TileSample {
  const texture = tileTexture(width, height, rng);
  const light = tileLighting(width, height, rng);
  const mean = rng.float(80, 175);
  const spread = rng.float(8, 28);
  const noise = rng.float(1.5, 5);
  const layer = cls === 'good' ? createCanvas(width, height) : drawDefect(cls, width, height, rng);
  const defectOnly = layer.data.slice();
  drawTileDistractors(layer, rng);
  const pixels = new Uint8Array(width * height);
  const mask = new Uint8Array(width * height);
  const d = layer.data;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const di = d[i] as number;
      const rel = di < -0.85 ? -0.85 : Math.min(di, 0.9);
      const v =
        (mean + spread * (texture[i] as number)) * (1 + rel) * light(x, y) + noise * (NORMAL_TABLE[(rng.next() * 65536) | 0] as number);
      pixels[i] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
      const m = defectOnly[i] as number;
      mask[i] = m > MASK_LEVEL || m < -MASK_LEVEL ? 255 : 0;
    }
  }
  return { width, height, pixels, mask };
}

/** Images per class for a scale factor (at least one each). */
export function tileClassCounts(scale = 1): Record<TileClass, number> {
  if (!(scale > 0)) throw new RangeError(`small-defects sample: scale must be > 0, got ${scale}`);
  return Object.fromEntries(TILE_CLASSES.map((c) => [c, Math.max(1, Math.round(TILE_CLASS_COUNTS[c] * scale))])) as Record<TileClass, number>;
}
