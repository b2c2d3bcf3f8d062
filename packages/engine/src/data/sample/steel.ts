import type { Rng } from '../rng.ts';
import { fbm, valueNoise, valueNoise1d } from './noise.ts';

/**
 * Hot-rolled steel texture, centred on 0 (about [-1, 1]), rolling direction along x:
 * elongated mottling, fine grain, and streaks that run along the rolling direction.
 */
export function steelTexture(size: number, rng: Rng): Float32Array {
  const s = size / 200; // tuned at NEU's 200 px
  const mottle = fbm(size, rng.float(30, 70) * s, rng.float(8, 18) * s, 3, 0.55, rng);
  const grain = fbm(size, rng.float(2.5, 5) * s, rng.float(1, 2) * s, 2, 0.7, rng);
  // Streaks: a fine 1-D profile across the rolling direction, faded in and out along it.
  const rows = size * 2;
  const fine = valueNoise1d(rows, rng.float(1.2, 2.5) * s, rng);
  const mid = valueNoise1d(rows, rng.float(4, 9) * s, rng);
  const fade = valueNoise(size, rng.float(40, 90) * s, rng.float(6, 14) * s, rng);
  const skew = Math.tan(rng.float(-0.03, 0.03)); // the strip is never exactly level
  const wMottle = rng.float(0.45, 0.8);
  const wGrain = rng.float(0.25, 0.5);
  const wStreak = rng.float(0.25, 0.6);
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const r = y + x * skew + size * 0.5;
      const k = Math.max(0, Math.min(rows - 2, Math.floor(r)));
      const t = r - k;
      const streak =
        0.65 * ((fine[k] as number) * (1 - t) + (fine[k + 1] as number) * t) +
        0.35 * ((mid[k] as number) * (1 - t) + (mid[k + 1] as number) * t);
      const i = y * size + x;
      const f = 0.55 + 0.45 * (fade[i] as number);
      out[i] = wMottle * (mottle[i] as number) + wGrain * (grain[i] as number) + wStreak * streak * f;
    }
  }
  return out;
}

export interface Lighting {
  /** Multiplicative illumination field (gradient × vignette), around 1. */
  field: Float32Array;
}

/** A random illumination gradient times an off-centre vignette. */
export function lightingField(size: number, rng: Rng): Float32Array {
  const gx = rng.float(-0.18, 0.18);
  const gy = rng.float(-0.18, 0.18);
  const vig = rng.float(0, 0.35);
  const cx = rng.float(0.35, 0.65) * size;
  const cy = rng.float(0.35, 0.65) * size;
  const norm = (size * size) / 2;
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const g = 1 + gx * (x / size - 0.5) * 2 + gy * (y / size - 0.5) * 2;
      const d2 = ((x - cx) * (x - cx) + (y - cy) * (y - cy)) / norm;
      out[y * size + x] = g * (1 - vig * d2);
    }
  }
  return out;
}
