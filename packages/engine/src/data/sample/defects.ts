import type { Rng } from '../rng.ts';
import { type Layer, stampBlob, strokePolyline, wanderPath } from './draw.ts';
import { fbm, smoothstep, valueNoise } from './noise.ts';

/** Draws one defect class onto a defect layer. `strength` scales contrast (subtle images < 0.6). */
export type DefectRenderer = (layer: Layer, rng: Rng, strength: number) => void;

/** Crazing: a fine network of dark hairline cracks (Voronoi cell borders, warped, broken up, over a region). */
export const drawCrazing: DefectRenderer = (layer, rng, strength) => {
  const { size, data } = layer;
  const s = size / 200;
  const cellX = rng.float(6, 14) * s;
  // Cells taller than wide: most crack segments run across the rolling direction.
  const cellY = cellX * rng.float(1, 2.2);
  const gw = Math.ceil(size / cellX) + 3;
  const gh = Math.ceil(size / cellY) + 3;
  const px = new Float32Array(gw * gh);
  const py = new Float32Array(gw * gh);
  for (let j = 0; j < gh; j++) {
    for (let i = 0; i < gw; i++) {
      px[j * gw + i] = (i - 1 + rng.float(0.1, 0.9)) * cellX;
      py[j * gw + i] = (j - 1 + rng.float(0.1, 0.9)) * cellY;
    }
  }
  const warpX = valueNoise(size, 10 * s, 10 * s, rng);
  const warpY = valueNoise(size, 10 * s, 10 * s, rng);
  const warpAmp = rng.float(1.5, 4) * s;
  const region = valueNoise(size, 70 * s, 50 * s, rng);
  const coverage = rng.float(-0.45, 0.1); // threshold: lower = more of the image crazed
  const breaks = valueNoise(size, rng.float(3, 7) * s, rng.float(3, 7) * s, rng);
  const breakAt = rng.float(-0.4, 0.1);
  const width = rng.float(0.3, 0.55) * Math.max(1, s);
  const amp = -rng.float(0.2, 0.45) * strength;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const inRegion = smoothstep(coverage - 0.12, coverage + 0.12, region[i] as number);
      if (inRegion === 0) continue;
      const wx = x + (warpX[i] as number) * warpAmp;
      const wy = y + (warpY[i] as number) * warpAmp;
      const ci = Math.floor(wx / cellX) + 1;
      const cj = Math.floor(wy / cellY) + 1;
      let d1 = 1e18; // squared distances to the nearest and second nearest seed
      let d2 = 1e18;
      let k1 = 0;
      let k2 = 0;
      for (let dj = -1; dj <= 1; dj++) {
        for (let di = -1; di <= 1; di++) {
          const gi = ci + di;
          const gj = cj + dj;
          if (gi < 0 || gj < 0 || gi >= gw || gj >= gh) continue;
          const k = gj * gw + gi;
          const ex = wx - (px[k] as number);
          const ey = wy - (py[k] as number);
          const d = ex * ex + ey * ey;
          if (d < d1) {
            d2 = d1;
            k2 = k1;
            d1 = d;
            k1 = k;
          } else if (d < d2) {
            d2 = d;
            k2 = k;
          }
        }
      }
      // Exact distance to the bisector between the two nearest seeds, i.e. to the cell border.
      const sx = (px[k2] as number) - (px[k1] as number);
      const sy = (py[k2] as number) - (py[k1] as number);
      const edge = (d2 - d1) / (2 * Math.sqrt(sx * sx + sy * sy) + 1e-6);
      if (edge > width * 3) continue;
      const crack = Math.exp(-(edge * edge) / (2 * width * width));
      const unbroken = smoothstep(breakAt - 0.2, breakAt + 0.2, breaks[i] as number);
      data[i] = (data[i] as number) + amp * crack * inRegion * unbroken;
    }
  }
};

/** Inclusion: a few elongated dark (sometimes bright) spots strung along the rolling direction. */
export const drawInclusion: DefectRenderer = (layer, rng, strength) => {
  const { size } = layer;
  const s = size / 200;
  const edgeNoise = valueNoise(size, 5 * s, 3 * s, rng);
  const edge = (x: number, y: number) => 0.35 * (edgeNoise[y * size + x] as number);
  const groups = rng.int(1, 3);
  for (let g = 0; g < groups; g++) {
    const bright = rng.bool(0.2);
    const y = rng.float(0.12, 0.88) * size;
    let x = rng.float(0.05, 0.7) * size;
    const count = rng.int(1, 5);
    const angle = rng.normal(0, 0.06);
    for (let k = 0; k < count && x < size; k++) {
      const rx = rng.float(5, 32) * s;
      const ry = rng.float(1.3, 4.5) * s;
      const amp = (bright ? rng.float(0.25, 0.5) : -rng.float(0.3, 0.6)) * strength;
      const cy = y + Math.tan(angle) * (x - size / 2) + rng.normal(0, 2) * s;
      stampBlob(layer, x + rx, cy, rx, ry, angle + rng.normal(0, 0.05), amp, rng.float(0.4, 0.9), edge);
      // A faint halo of deformed steel around the inclusion.
      stampBlob(layer, x + rx, cy, rx * 1.6, ry * 2.5, angle, amp * 0.15, 0);
      x += rx * 2 + rng.float(2, 30) * s;
    }
  }
};

/** Patches: large blotchy regions, mostly darker, with a mottled inside and soft ragged borders. */
export const drawPatches: DefectRenderer = (layer, rng, strength) => {
  const { size, data } = layer;
  const s = size / 200;
  const shape = fbm(size, rng.float(45, 90) * s, rng.float(30, 70) * s, 4, 0.5, rng);
  const inner = fbm(size, 10 * s, 6 * s, 2, 0.55, rng);
  const coverage = rng.float(0.12, 0.45); // fraction of the image the patches cover
  const soft = rng.float(0.04, 0.12);
  const dark = rng.bool(0.8);
  const amp = (dark ? -rng.float(0.18, 0.42) : rng.float(0.15, 0.32)) * strength;
  // Localise around one or two centres so patches do not always tile the whole frame.
  const centres = Array.from({ length: rng.int(1, 2) }, () => ({
    x: rng.float(0.15, 0.85) * size,
    y: rng.float(0.15, 0.85) * size,
    r: rng.float(0.3, 0.6) * size,
  }));
  const field = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let near = 0;
      for (const c of centres) {
        const d2 = ((x - c.x) ** 2 + (y - c.y) ** 2) / (c.r * c.r);
        near = Math.max(near, Math.exp(-d2 * 1.5));
      }
      field[y * size + x] = (shape[y * size + x] as number) + 0.35 * (near - 0.5);
    }
  }
  const threshold = quantile(field, 1 - coverage);
  for (let i = 0; i < field.length; i++) {
    const m = smoothstep(threshold - soft, threshold + soft, field[i] as number);
    if (m > 0) data[i] = (data[i] as number) + amp * m * (0.7 + 0.45 * (inner[i] as number));
  }
};

/** Approximate q-quantile of the values (256-bin histogram), so a threshold hits a chosen coverage. */
function quantile(values: Float32Array, q: number): number {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const bins = new Uint32Array(256);
  const scale = 255 / (hi - lo || 1);
  for (const v of values) {
    const b = Math.round((v - lo) * scale);
    bins[b] = (bins[b] as number) + 1;
  }
  let seen = 0;
  const target = q * values.length;
  for (let b = 0; b < 256; b++) {
    seen += bins[b] as number;
    if (seen >= target) return lo + b / scale;
  }
  return hi;
}

/** Pitted surface: many small dark pits, clustered or scattered, some with a light rim. */
export const drawPittedSurface: DefectRenderer = (layer, rng, strength) => {
  const { size } = layer;
  const s = size / 200;
  const clusters = Array.from({ length: rng.int(1, 3) }, () => ({
    x: rng.float(0.15, 0.85) * size,
    y: rng.float(0.15, 0.85) * size,
    spread: rng.float(12, 55) * s,
  }));
  const scattered = rng.bool(0.35);
  const count = Math.round(rng.float(25, 140) * (scattered ? 1.3 : 1));
  for (let k = 0; k < count; k++) {
    let x: number;
    let y: number;
    if (scattered) {
      x = rng.float(0, size);
      y = rng.float(0, size);
    } else {
      const c = rng.pick(clusters);
      x = c.x + rng.normal(0, c.spread) * 1.3;
      y = c.y + rng.normal(0, c.spread) * 0.8;
    }
    const r = Math.max(0.6, rng.float(0.6, 2.6) * s * (rng.bool(0.1) ? 1.8 : 1));
    const amp = -rng.float(0.25, 0.65) * strength;
    stampBlob(layer, x, y, r * rng.float(1, 1.8), r, rng.normal(0, 0.2), amp, rng.float(0.2, 0.7));
    if (rng.bool(0.4)) stampBlob(layer, x + r * 0.6, y - r * 0.6, r, r * 0.7, 0, -amp * 0.35, 0);
  }
};

/** Rolled-in scale: flaky irregular dark scale pressed into the surface in bands along the rolling direction. */
export const drawRolledInScale: DefectRenderer = (layer, rng, strength) => {
  const { size, data } = layer;
  const s = size / 200;
  const flakes = fbm(size, rng.float(8, 18) * s, rng.float(3, 6) * s, 4, 0.6, rng);
  const tone = valueNoise(size, 5 * s, 2.5 * s, rng);
  const along = valueNoise(size, rng.float(25, 60) * s, 20 * s, rng);
  const bands = Array.from({ length: rng.int(1, 3) }, () => ({
    y: rng.float(0.1, 0.9) * size,
    h: rng.float(8, 35) * s,
  }));
  const threshold = rng.float(0.05, 0.3);
  const amp = -rng.float(0.3, 0.55) * strength;
  const mask = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    let band = 0;
    for (const b of bands) band = Math.max(band, Math.exp(-((y - b.y) ** 2) / (2 * b.h * b.h)));
    if (band < 0.02) continue;
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const v = (flakes[i] as number) + 0.5 * (band - 0.6) + 0.25 * (along[i] as number);
      mask[i] = smoothstep(threshold - 0.04, threshold + 0.04, v);
    }
  }
  // Flakes are dark, with a thin bright lip on one side where they were pressed in.
  for (let y = 1; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = y * size + x;
      const m = mask[i] as number;
      const lip = Math.max(0, (mask[i - size] as number) - m);
      // Each flake has its own darkness and a rough, pitted inside.
      if (m > 0 || lip > 0) data[i] = (data[i] as number) + amp * m * (0.75 + 0.6 * (tone[i] as number)) - amp * 0.5 * lip;
    }
  }
};

/** Scratches: long thin, nearly straight lines, bright or dark, fading along their length. */
export const drawScratches: DefectRenderer = (layer, rng, strength) => {
  const { size } = layer;
  const s = size / 200;
  const count = rng.int(1, 4);
  const baseAngle = rng.bool(0.5) ? rng.normal(0, 0.25) : rng.float(0, Math.PI);
  const bright = rng.bool(0.55);
  for (let k = 0; k < count; k++) {
    const angle = baseAngle + rng.normal(0, 0.08);
    const length = rng.float(0.45, 1.3) * size;
    const cx = rng.float(0.15, 0.85) * size;
    const cy = rng.float(0.15, 0.85) * size;
    const steps = 24;
    const start = { x: cx - (Math.cos(angle) * length) / 2, y: cy - (Math.sin(angle) * length) / 2 };
    const path = wanderPath(start.x, start.y, angle, steps, length / steps, 0.012, () => rng.next());
    const hw = rng.float(0.5, 1.5) * s;
    const amp = (bright ? rng.float(0.2, 0.45) : -rng.float(0.22, 0.5)) * strength;
    const fadeIn = rng.float(0, 0.3);
    const fadeOut = rng.float(0.7, 1);
    strokePolyline(
      layer,
      path.map((p, i) => {
        const t = i / steps;
        const fade = smoothstep(fadeIn - 0.1, fadeIn + 0.1, t) * (1 - smoothstep(fadeOut - 0.1, fadeOut + 0.1, t));
        return { ...p, hw: hw * rng.float(0.7, 1.2), amp: amp * fade * rng.float(0.75, 1) };
      }),
    );
  }
};

/** Faint blemishes any image may carry (a stray pit, a light hairline), so no class is perfectly clean. */
export function drawDistractors(layer: Layer, rng: Rng): void {
  const { size } = layer;
  if (rng.bool(0.3)) {
    for (let k = rng.int(1, 4); k > 0; k--) {
      stampBlob(layer, rng.float(0, size), rng.float(0, size), rng.float(0.7, 1.8), rng.float(0.7, 1.5), 0, -rng.float(0.1, 0.3), 0.3);
    }
  }
  if (rng.bool(0.15)) {
    const a = rng.normal(0, 0.3);
    const x = rng.float(0, size);
    const y = rng.float(0, size);
    const len = rng.float(0.1, 0.3) * size;
    const amp = (rng.bool() ? 1 : -1) * rng.float(0.06, 0.14);
    strokePolyline(layer, [
      { x, y, amp: 0, hw: 0.6 },
      { x: x + (Math.cos(a) * len) / 2, y: y + (Math.sin(a) * len) / 2, amp, hw: 0.6 },
      { x: x + Math.cos(a) * len, y: y + Math.sin(a) * len, amp: 0, hw: 0.6 },
    ]);
  }
}
