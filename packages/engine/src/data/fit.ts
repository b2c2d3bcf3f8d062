/**
 * How a non-square image becomes the backbone's square input: stretched (today's default),
 * letterboxed (aspect kept, padded) or cut into square tiles whose feature maps are combined by
 * element-wise max ("max over tiles"). The same spec is applied at training, evaluation and
 * prediction time, and is part of every cache key that depends on pixels.
 */
import type { Sharp } from 'sharp';
import { augmentRgbView } from './augment/augment.ts';
import type { AugmentPolicy } from './augment/policy.ts';
import { DEFAULT_MAX_TILES, IMAGE_FITS, type ImageFit } from '../constants.ts';
import { createRng } from './rng.ts';

export { DEFAULT_MAX_TILES, IMAGE_FITS, type ImageFit } from '../constants.ts';

export interface FitSpec {
  fit: ImageFit;
  /** tiles: at most this many tiles per image (a longer image is squeezed to maxTiles × square). */
  maxTiles: number;
}

export const STRETCH: FitSpec = { fit: 'stretch', maxTiles: DEFAULT_MAX_TILES };

/** Fills defaults and checks a fit spec; the error names the field. */
export function normalizeFit(spec: Partial<FitSpec> | null | undefined): FitSpec {
  const fit = spec?.fit ?? 'stretch';
  if (!IMAGE_FITS.includes(fit)) throw new Error(`fit must be one of ${IMAGE_FITS.join(', ')}, got "${String(fit)}"`);
  const maxTiles = spec?.maxTiles ?? DEFAULT_MAX_TILES;
  if (!Number.isInteger(maxTiles) || maxTiles < 1 || maxTiles > 16) throw new Error(`maxTiles must be an integer 1..16, got ${maxTiles}`);
  return { fit, maxTiles };
}

/** Cache-key part: '' for stretch, so caches written before fit existed stay valid. */
export function fitSignature(spec: FitSpec): string {
  if (spec.fit === 'stretch') return '';
  return spec.fit === 'tiles' ? `|tiles${spec.maxTiles}` : `|${spec.fit}`;
}

/** An image ratio up to this much above a whole number of tiles is squeezed rather than given one more tile. */
const TILE_SLACK = 0.1;

export interface TileLayout {
  /** Number of square tiles. */
  count: number;
  /** Size the image is resized to before cutting: the short side is `size`. */
  width: number;
  height: number;
  /** Tiles run along x (wide image) or y (tall image). */
  axis: 'x' | 'y';
  /** Start of each tile along the axis, evenly spaced from 0 to long − size (tiles overlap when long < count·size). */
  offsets: number[];
}

/**
 * Tile geometry for a width×height image. The short side becomes `size`; T = clamp(ceil(ratio − 0.1),
 * 1, maxTiles) tiles cover the whole long side (ceil rather than round: a defect at the far end
 * must never fall between tiles). When the long side exceeds T·size (ratio above maxTiles, or less
 * than 0.1 above a whole number) it is squeezed to T·size — mild, and nothing is cropped.
 */
export function tileLayout(width: number, height: number, size: number, maxTiles: number): TileLayout {
  const axis = width >= height ? 'x' : 'y';
  const ratio = Math.max(width, height) / Math.max(1, Math.min(width, height));
  const count = Math.min(maxTiles, Math.max(1, Math.ceil(ratio - TILE_SLACK)));
  const long = Math.min(count * size, Math.max(size, Math.round(size * ratio)));
  const offsets = count === 1 ? [0] : Array.from({ length: count }, (_, i) => Math.round((i * (long - size)) / (count - 1)));
  return { count, width: axis === 'x' ? long : size, height: axis === 'x' ? size : long, axis, offsets };
}

/** uchar pixels (1 or 3 channels) → RGB floats. */
export function toRgbFloat(data: Buffer, channels: number, pixels: number): Float32Array {
  const out = new Float32Array(pixels * 3);
  if (channels === 3) {
    for (let i = 0; i < out.length; i++) out[i] = data[i] as number;
  } else if (channels === 1) {
    for (let p = 0; p < pixels; p++) {
      const v = data[p] as number;
      out[p * 3] = v;
      out[p * 3 + 1] = v;
      out[p * 3 + 2] = v;
    }
  } else {
    throw new Error(`unexpected ${channels} channels after conversion`);
  }
  return out;
}

/**
 * Places a w×h RGB image in the middle of a size×size square filled with the image's own mean
 * colour. Why the mean: black (or any far-off constant) puts a hard straight edge along the image
 * border, which a surface-defect network reads as a scratch or crack in every image; replicating
 * the edge pixels paints long streaks, again defect-like. A flat fill at the image's mean adds
 * the weakest edge there is and pulls the average-pooled features least away from the image's own.
 */
export function letterboxRgb(rgb: Float32Array, w: number, h: number, size: number): Float32Array {
  const mean = [0, 0, 0];
  const pixels = w * h;
  for (let p = 0; p < pixels; p++) for (let c = 0; c < 3; c++) mean[c] = (mean[c] as number) + (rgb[p * 3 + c] as number);
  for (let c = 0; c < 3; c++) mean[c] = (mean[c] as number) / Math.max(1, pixels);
  const out = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) for (let c = 0; c < 3; c++) out[p * 3 + c] = mean[c] as number;
  const x0 = Math.floor((size - w) / 2);
  const y0 = Math.floor((size - h) / 2);
  for (let y = 0; y < h; y++) out.set(rgb.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * size + x0) * 3);
  return out;
}

/** The layout's square tiles cut from a width×height RGB image, back to back (count·size·size·3 floats). */
export function cutTiles(rgb: Float32Array, layout: TileLayout, size: number): Float32Array {
  const out = new Float32Array(layout.count * size * size * 3);
  const row = size * 3;
  layout.offsets.forEach((offset, t) => {
    const base = t * size * size * 3;
    for (let y = 0; y < size; y++) {
      const src = layout.axis === 'x' ? (y * layout.width + offset) * 3 : ((offset + y) * layout.width) * 3;
      out.set(rgb.subarray(src, src + row), base + y * row);
    }
  });
  return out;
}

export interface FittedPixels {
  /** tiles·size·size·3 floats, RGB HWC 0..255. */
  data: Float32Array;
  tiles: number;
}

/**
 * Decodes `file` for fit 'letterbox' or 'tiles' (stretch stays in readImageAsFloat). `image` is a
 * sharp pipeline already flattened and oriented; errors propagate for the caller to wrap.
 */
export async function decodeFitted(image: Sharp, size: number, spec: FitSpec): Promise<FittedPixels> {
  if (spec.fit === 'letterbox') {
    const { data, info } = await image
      .resize(size, size, { fit: 'inside', kernel: 'lanczos3' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const rgb = toRgbFloat(data, info.channels, info.width * info.height);
    return { data: letterboxRgb(rgb, info.width, info.height, size), tiles: 1 };
  }
  const meta = await image.metadata();
  const w = meta.autoOrient?.width ?? meta.width ?? size;
  const h = meta.autoOrient?.height ?? meta.height ?? size;
  const layout = tileLayout(w, h, size, spec.maxTiles);
  const { data, info } = await image
    .resize(layout.width, layout.height, { fit: 'fill', kernel: 'lanczos3' })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const rgb = toRgbFloat(data, info.channels, info.width * info.height);
  return { data: cutTiles(rgb, layout, size), tiles: layout.count };
}

/**
 * Element-wise max of `tiles` feature maps stored back to back in `maps` (each `per` floats):
 * the combined map has the usual shape, so caches and heads do not change with tiling.
 */
export function maxOverTiles(maps: Float32Array, tiles: number, per: number): Float32Array {
  const out = maps.slice(0, per);
  for (let t = 1; t < tiles; t++) {
    const base = t * per;
    for (let i = 0; i < per; i++) {
      const v = maps[base + i] as number;
      if (v > (out[i] as number)) out[i] = v;
    }
  }
  return out;
}

/**
 * One augmented view of an image that may hold several square tiles back to back: every tile gets
 * the same random draws (an rng from the same seed), so a view is one consistent transformation of
 * the part — the same brightness shift, flip and crop on each tile — and a single tile is exactly
 * augmentRgbView.
 */
export function augmentTiledView(data: Float32Array, size: number, policy: AugmentPolicy, seed: number): Float32Array {
  const pix = size * size * 3;
  const tiles = data.length / pix;
  if (tiles <= 1) return augmentRgbView(data, size, policy, createRng(seed));
  const out = new Float32Array(data.length);
  for (let t = 0; t < tiles; t++) out.set(augmentRgbView(data.subarray(t * pix, (t + 1) * pix), size, policy, createRng(seed)), t * pix);
  return out;
}
