import type { Rng } from '../rng.ts';

/**
 * Value noise on a random lattice with smoothstep interpolation, sampled on a size×size grid.
 * cellX/cellY are the lattice spacing in pixels (unequal spacing gives anisotropic texture).
 * Returns values in about [-1, 1].
 */
export function valueNoise(size: number, cellX: number, cellY: number, rng: Rng): Float32Array {
  return addValueNoise(new Float32Array(size * size), size, cellX, cellY, 1, rng);
}

/** Adds amp × value noise into `out` (one pass, no temporary image). Returns `out`. */
export function addValueNoise(out: Float32Array, size: number, cellX: number, cellY: number, amp: number, rng: Rng): Float32Array {
  return addValueNoiseRect(out, size, size, cellX, cellY, amp, rng);
}

/** addValueNoise on a width×height grid (row-major); same random draws as the square version. */
export function addValueNoiseRect(
  out: Float32Array,
  width: number,
  height: number,
  cellX: number,
  cellY: number,
  amp: number,
  rng: Rng,
): Float32Array {
  const gw = Math.ceil(width / cellX) + 2;
  const gh = Math.ceil(height / cellY) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.next() * 2 - 1;
  // Random phase so lattice lines do not always sit at x = 0.
  const ox = rng.next() * cellX;
  const oy = rng.next() * cellY;
  for (let i = 0; i < grid.length; i++) grid[i] = (grid[i] as number) * amp;
  const xs = new Int32Array(width);
  const wxs = new Float32Array(width);
  for (let x = 0; x < width; x++) {
    const fx = (x + ox) / cellX;
    const ix = Math.floor(fx);
    const t = fx - ix;
    xs[x] = ix;
    wxs[x] = t * t * (3 - 2 * t);
  }
  // Blend the two lattice rows once per image row, then each pixel is a single lerp.
  const blended = new Float32Array(gw);
  for (let y = 0; y < height; y++) {
    const fy = (y + oy) / cellY;
    const iy = Math.floor(fy);
    const ty = fy - iy;
    const wy = ty * ty * (3 - 2 * ty);
    const row0 = iy * gw;
    const row1 = row0 + gw;
    for (let g = 0; g < gw; g++) {
      const a = grid[row0 + g] as number;
      blended[g] = a + ((grid[row1 + g] as number) - a) * wy;
    }
    const base = y * width;
    for (let x = 0; x < width; x++) {
      const ix = xs[x] as number;
      const a = blended[ix] as number;
      out[base + x] = (out[base + x] as number) + a + ((blended[ix + 1] as number) - a) * (wxs[x] as number);
    }
  }
  return out;
}

/** Fractal sum of value-noise octaves (each half the cell size, `gain` the amplitude), normalised to about [-1, 1]. */
export function fbm(size: number, cellX: number, cellY: number, octaves: number, gain: number, rng: Rng): Float32Array {
  return fbmRect(size, size, cellX, cellY, octaves, gain, rng);
}

/** fbm on a width×height grid. */
export function fbmRect(width: number, height: number, cellX: number, cellY: number, octaves: number, gain: number, rng: Rng): Float32Array {
  const out = new Float32Array(width * height);
  let amp = 1;
  let total = 0;
  let cx = cellX;
  let cy = cellY;
  for (let o = 0; o < octaves; o++) {
    addValueNoiseRect(out, width, height, Math.max(1, cx), Math.max(1, cy), amp, rng);
    total += amp;
    amp *= gain;
    cx /= 2;
    cy /= 2;
  }
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / total;
  return out;
}

/** 1-D value noise of length n (cell in samples), values about [-1, 1]. */
export function valueNoise1d(n: number, cell: number, rng: Rng): Float32Array {
  const g = new Float32Array(Math.ceil(n / cell) + 2);
  for (let i = 0; i < g.length; i++) g[i] = rng.next() * 2 - 1;
  const off = rng.next() * cell;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const f = (i + off) / cell;
    const k = Math.floor(f);
    const t = f - k;
    const w = t * t * (3 - 2 * t);
    const a = g[k] as number;
    out[i] = a + ((g[k + 1] as number) - a) * w;
  }
  return out;
}

export function smoothstep(edge0: number, edge1: number, x: number): number {
  const t = Math.min(1, Math.max(0, (x - edge0) / (edge1 - edge0)));
  return t * t * (3 - 2 * t);
}
