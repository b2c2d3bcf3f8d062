/**
 * Near-duplicate images across classes: copies a person would call "the same picture" (re-saved,
 * rescaled, re-compressed, slightly brighter) that carry different labels. Exact byte duplicates are
 * the loader's job; this catches the copies it cannot.
 *
 * Why not a perceptual hash alone: surface photographs are textures under the same lighting, and a
 * 9×8 difference hash sees only the lighting — on the synthetic steel set it paired 893 different
 * images across classes (issue 20), while missing two thirds of half-size JPEG copies. What tells two
 * textures apart is their detail, so each image becomes a band-pass signature (32×32 grayscale, a 3×3
 * box blur minus a 9×9 box blur: noise and lighting removed, the texture kept), and two images are
 * copies when those signatures correlate ≥ 0.9. Measured on both sample sets (docs/BENCHMARKS.md §10):
 * different images reach at most 0.67 (steel) and 0.81 (tiles); copies score at least 0.957.
 * Images with almost no detail (flat or smooth gradients) have nothing to correlate; two of those are
 * compared by their difference hash instead.
 */
import { IMAGE_MAX_PIXELS } from '@defectflow/engine/data';
import sharp from 'sharp';

export interface NearDuplicateOptions {
  /** Band-pass correlation at or above which two detailed images are copies. */
  minCorrelation?: number;
  /** Difference-hash distance (bits of 64) at or below which two flat images are copies. */
  maxFlatDistance?: number;
  maxImages?: number;
  concurrency?: number;
}

const SIDE = 32;
const BORDER = 2; // box blurs see past the edge less; their rim is left out
const INNER = SIDE - 2 * BORDER;
/** Detail below this standard deviation (gray levels at 32×32) counts as a flat image. */
const FLAT_DETAIL_STD = 0.5;
/** Pairs whose SimHash differs in more bits are too far apart to be worth a full correlation. */
const SIMHASH_MAX_BITS = 18;

export interface ImageSignature {
  /** Unit-length band-pass detail, or null for a flat image. */
  detail: Float32Array | null;
  /** 64-bit sign hash of `detail` in two 32-bit halves (random hyperplanes), a cheap pre-filter. */
  sim: [number, number];
  /** Difference hash of the 9×8 thumbnail, for flat images. */
  dhash: bigint;
}

/** Mean over a (2r+1)² window, clipped at the edges, via an integral image. */
function boxBlur(src: Float32Array, r: number): Float32Array {
  const w = SIDE + 1;
  const sum = new Float64Array(w * w);
  for (let y = 0; y < SIDE; y++) {
    let row = 0;
    for (let x = 0; x < SIDE; x++) {
      row += src[y * SIDE + x] as number;
      sum[(y + 1) * w + x + 1] = (sum[y * w + x + 1] as number) + row;
    }
  }
  const out = new Float32Array(SIDE * SIDE);
  for (let y = 0; y < SIDE; y++) {
    const y0 = Math.max(0, y - r);
    const y1 = Math.min(SIDE, y + r + 1);
    for (let x = 0; x < SIDE; x++) {
      const x0 = Math.max(0, x - r);
      const x1 = Math.min(SIDE, x + r + 1);
      const s = (sum[y1 * w + x1] as number) - (sum[y0 * w + x1] as number) - (sum[y1 * w + x0] as number) + (sum[y0 * w + x0] as number);
      out[y * SIDE + x] = s / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/** Fixed pseudo-random hyperplanes (same on every run, so results are reproducible). */
const HYPERPLANES: Float32Array[] = (() => {
  let state = 0x9e3779b9;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 0xffffffff) * 2 - 1;
  };
  return Array.from({ length: 64 }, () => Float32Array.from({ length: INNER * INNER }, next));
})();

function differenceHash(thumb: Buffer): bigint {
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) hash = (hash << 1n) | ((thumb[y * 9 + x] as number) > (thumb[y * 9 + x + 1] as number) ? 1n : 0n);
  }
  return hash;
}

export async function imageSignature(input: string | Buffer): Promise<ImageSignature> {
  const gray = sharp(input, { failOn: 'none', limitInputPixels: IMAGE_MAX_PIXELS }).grayscale();
  const [raw, thumb] = await Promise.all([
    gray.clone().resize(SIDE, SIDE, { fit: 'fill' }).raw().toBuffer(),
    gray.clone().resize(9, 8, { fit: 'fill' }).raw().toBuffer(),
  ]);
  const pixels = Float32Array.from(raw);
  const fine = boxBlur(pixels, 1);
  const coarse = boxBlur(pixels, 4);
  const detail = new Float32Array(INNER * INNER);
  let mean = 0;
  for (let y = 0; y < INNER; y++) {
    for (let x = 0; x < INNER; x++) {
      const i = (y + BORDER) * SIDE + x + BORDER;
      const d = (fine[i] as number) - (coarse[i] as number);
      detail[y * INNER + x] = d;
      mean += d;
    }
  }
  mean /= detail.length;
  let norm = 0;
  for (let i = 0; i < detail.length; i++) {
    const d = (detail[i] as number) - mean;
    detail[i] = d;
    norm += d * d;
  }
  const dhash = differenceHash(thumb);
  if (Math.sqrt(norm / detail.length) < FLAT_DETAIL_STD) return { detail: null, sim: [0, 0], dhash };
  norm = Math.sqrt(norm);
  for (let i = 0; i < detail.length; i++) detail[i] = (detail[i] as number) / norm;
  const sim: [number, number] = [0, 0];
  HYPERPLANES.forEach((plane, k) => {
    if (dot(plane, detail) > 0) sim[k >> 5] = ((sim[k >> 5] as number) | (1 << (k & 31))) >>> 0;
  });
  return { detail, sim, dhash };
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function popcount32(n: number): number {
  let v = n - ((n >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function bits(n: bigint): number {
  let count = 0;
  while (n) {
    n &= n - 1n;
    count++;
  }
  return count;
}

/** Whether two signatures are copies of one picture. */
export function areNearDuplicates(a: ImageSignature, b: ImageSignature, options: NearDuplicateOptions = {}): boolean {
  if (a.detail && b.detail) {
    const simBits = popcount32((a.sim[0] ^ b.sim[0]) >>> 0) + popcount32((a.sim[1] ^ b.sim[1]) >>> 0);
    return simBits <= SIMHASH_MAX_BITS && dot(a.detail, b.detail) >= (options.minCorrelation ?? 0.9);
  }
  // One detailed and one flat image are different pictures; two flat ones are compared by their shading.
  return !a.detail && !b.detail && bits(a.dhash ^ b.dhash) <= (options.maxFlatDistance ?? 4);
}

/** Groups [idA, idB] of images with different classes that look alike (exact byte duplicates excluded by the caller). */
export async function findNearDuplicatesAcrossClasses(
  items: readonly { id: string; path: string; className: string }[],
  options: NearDuplicateOptions = {},
): Promise<[string, string][] | null> {
  if (items.length > (options.maxImages ?? 4000)) return null; // too many for a pairwise check; skipped
  const signatures: (ImageSignature | null)[] = new Array(items.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      signatures[i] = await imageSignature((items[i] as { path: string }).path).catch(() => null);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  const pairs: [string, string][] = [];
  for (let i = 0; i < items.length; i++) {
    const a = signatures[i];
    if (!a) continue;
    for (let j = i + 1; j < items.length; j++) {
      const b = signatures[j];
      if (!b || items[i]?.className === items[j]?.className) continue;
      if (areNearDuplicates(a, b, options)) pairs.push([(items[i] as { id: string }).id, (items[j] as { id: string }).id]);
    }
  }
  return pairs;
}
