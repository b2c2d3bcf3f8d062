import type { Rng } from '../rng.ts';
import { type Canvas, stampBlob, strokePolyline, wanderPath } from './draw.ts';
import { valueNoise1d } from './noise.ts';

/**
 * Small local defects on a magnetic-tile-like surface. Each renderer draws one defect whose
 * visible area is about `area` pixels (the caller measures the mask and redraws when it misses).
 */
export type TileDefectRenderer = (canvas: Canvas, rng: Rng, area: number) => void;

/** An irregular outline: the normalised radius wobbles with the angle around the centre. */
function ragged(cx: number, cy: number, amount: number, lobes: number, rng: Rng): (x: number, y: number) => number {
  const profile = valueNoise1d(lobes + 2, 1, rng);
  return (x, y) => {
    const t = ((Math.atan2(y - cy, x - cx) / (2 * Math.PI) + 0.5) * lobes) % lobes;
    const k = Math.floor(t);
    const f = t - k;
    // Wrap around: the last lobe blends into the first.
    const a = profile[k] as number;
    const b = profile[(k + 1) % lobes] as number;
    return amount * (a + (b - a) * f);
  };
}

/** Blowhole: one to three small round dark pits close together, hard-edged, with a faint light rim. */
export const drawBlowhole: TileDefectRenderer = (canvas, rng, area) => {
  const { width, height } = canvas;
  const n = rng.int(1, 3);
  const r = Math.max(2, Math.sqrt(area / n / Math.PI));
  const cx = rng.float(r * 3, width - r * 3);
  const cy = rng.float(r * 3, height - r * 3);
  for (let k = 0; k < n; k++) {
    const rk = r * rng.float(0.75, 1.2);
    const x = cx + (k === 0 ? 0 : rng.normal(0, r * 1.8));
    const y = cy + (k === 0 ? 0 : rng.normal(0, r * 1.8));
    const aspect = rng.float(1, 1.35);
    stampBlob(canvas, x, y, rk * aspect, rk, rng.float(0, Math.PI), -rng.float(0.4, 0.7), rng.float(0.6, 0.9));
    // Light catches the far lip of the pit.
    const a = rng.float(0, 2 * Math.PI);
    stampBlob(canvas, x + Math.cos(a) * rk * 0.8, y + Math.sin(a) * rk * 0.8, rk * 0.6, rk * 0.35, a + Math.PI / 2, 0.12, 0.3);
  }
};

/** Crack: a thin dark jagged line, sometimes with a short branch. */
export const drawCrack: TileDefectRenderer = (canvas, rng, area) => {
  const { width, height } = canvas;
  const amp = -rng.float(0.4, 0.7);
  let hw = rng.float(0.7, 1.3);
  // Mask width of a Gaussian line of this darkness (where it changes intensity by > 8 %), a little less for the tapered ends.
  const across = 2 * Math.sqrt(2 * Math.log(-amp / 0.08)) * 0.9;
  let length = area / (across * hw);
  const most = Math.min(width, height) * 0.35 + Math.max(width, height) * 0.5;
  if (length > most) {
    hw *= length / most;
    length = most;
  }
  // A roughly straight course (slow bend) with a jagged zig-zag across it.
  const angle = rng.float(0, 2 * Math.PI);
  const dx = Math.cos(angle) * length;
  const dy = Math.sin(angle) * length;
  const x0 = rng.float(Math.max(6, 6 - dx), Math.max(Math.max(6, 6 - dx) + 1, Math.min(width - 6, width - 6 - dx)));
  const y0 = rng.float(Math.max(6, 6 - dy), Math.max(Math.max(6, 6 - dy) + 1, Math.min(height - 6, height - 6 - dy)));
  const steps = Math.max(6, Math.round(length / 3.5));
  const bend = rng.normal(0, 0.3) / steps;
  const pts: { x: number; y: number; amp: number; hw: number }[] = [];
  let a = angle;
  let x = x0;
  let y = y0;
  for (let i = 0; i <= steps; i++) {
    const taper = Math.min(1, (Math.min(i, steps - i) + 1) / 3);
    const j = rng.normal(0, 1.1);
    pts.push({ x: x - Math.sin(a) * j, y: y + Math.cos(a) * j, amp: amp * taper, hw: hw * rng.float(0.7, 1.3) * (0.5 + 0.5 * taper) });
    a += bend;
    x += (Math.cos(a) * length) / steps;
    y += (Math.sin(a) * length) / steps;
  }
  strokePolyline(canvas, pts);
  if (rng.bool(0.4)) {
    const from = pts[Math.floor(steps / 2)] as { x: number; y: number };
    const branch = wanderPath(from.x, from.y, angle + rng.pick([-1, 1]) * rng.float(0.5, 1.1), Math.ceil(steps / 4), 3.5, 0.3, () => rng.next());
    strokePolyline(canvas, branch.map((p, i) => ({ ...p, hw: hw * 0.7, amp: amp * 0.8 * (1 - i / branch.length) })));
  }
};

/** Break: a chipped corner or edge — a ragged region at the border where the surface is missing. */
export const drawBreak: TileDefectRenderer = (canvas, rng, area) => {
  const { width, height } = canvas;
  const corner = rng.bool(0.5);
  let cx: number;
  let cy: number;
  let r: number;
  if (corner) {
    r = Math.sqrt((4 * area) / Math.PI);
    cx = rng.bool() ? 0 : width - 1;
    cy = rng.bool() ? 0 : height - 1;
  } else {
    r = Math.sqrt((2 * area) / Math.PI);
    const side = rng.int(0, 3);
    cx = side === 0 ? 0 : side === 1 ? width - 1 : rng.float(r, width - r);
    cy = side === 2 ? 0 : side === 3 ? height - 1 : rng.float(r, height - r);
  }
  const dark = rng.bool(0.8);
  const amp = dark ? -rng.float(0.45, 0.75) : rng.float(0.4, 0.6);
  const aspect = rng.float(0.7, 1.4);
  stampBlob(canvas, cx, cy, r * aspect, r / aspect, rng.float(0, Math.PI), amp, 0.92, ragged(cx, cy, 0.3, rng.int(5, 9), rng));
};

/** Fray: a small rough patch of short streaks, dark and light, roughly along one direction. */
export const drawFray: TileDefectRenderer = (canvas, rng, area) => {
  const { width, height } = canvas;
  const elong = rng.float(1, 2.2);
  const pw = Math.sqrt(area * elong) * 1.1;
  const ph = pw / elong;
  const cx = rng.float(pw / 2 + 3, Math.max(pw / 2 + 4, width - pw / 2 - 3));
  const cy = rng.float(ph / 2 + 3, Math.max(ph / 2 + 4, height - ph / 2 - 3));
  const base = rng.float(0, Math.PI);
  const count = Math.max(6, Math.round(area / 28));
  for (let k = 0; k < count; k++) {
    const a = base + rng.normal(0, 0.25);
    // Points inside the patch's ellipse, rotated with it.
    const u = rng.float(-0.5, 0.5) * pw;
    const v = rng.float(-0.5, 0.5) * ph;
    const x = cx + u * Math.cos(base) - v * Math.sin(base);
    const y = cy + u * Math.sin(base) + v * Math.cos(base);
    const len = rng.float(0.15, 0.45) * pw;
    const amp = rng.bool(0.7) ? -rng.float(0.25, 0.5) : rng.float(0.2, 0.4);
    const hw = rng.float(0.5, 1.1);
    const steps = 4;
    const path = wanderPath(x - (Math.cos(a) * len) / 2, y - (Math.sin(a) * len) / 2, a, steps, len / steps, 0.3, () => rng.next());
    strokePolyline(canvas, path.map((p, i) => ({ ...p, hw, amp: amp * (i === 0 || i === steps ? 0.4 : 1) })));
  }
};

/** Uneven: a small blotch of different brightness with a soft, irregular outline. */
export const drawUneven: TileDefectRenderer = (canvas, rng, area) => {
  const { width, height } = canvas;
  const aspect = rng.float(1, 1.8);
  // A soft blob's mask reaches a little past its nominal radius.
  const r = Math.sqrt(area / Math.PI / aspect) * 0.85;
  const cx = rng.float(r * aspect + 2, Math.max(r * aspect + 3, width - r * aspect - 2));
  const cy = rng.float(r * aspect + 2, Math.max(r * aspect + 3, height - r * aspect - 2));
  const amp = rng.bool(0.6) ? -rng.float(0.25, 0.38) : rng.float(0.25, 0.35);
  stampBlob(canvas, cx, cy, r * aspect, r, rng.float(0, Math.PI), amp, rng.float(0.35, 0.7), ragged(cx, cy, 0.2, rng.int(4, 8), rng));
};

/**
 * Harmless marks every tile may carry: pores of a pixel or two, a faint full-length grinding line,
 * broad shading, a darker tile border. Each stays below what a defect looks like.
 */
export function drawTileDistractors(canvas: Canvas, rng: Rng): void {
  const { width, height, data } = canvas;
  for (let k = rng.int(0, 14); k > 0; k--) {
    // Mostly pinpricks; now and then a pore of a few pixels, still far smaller than a blowhole.
    const r = rng.bool(0.15) ? rng.float(1.5, 2.3) : rng.float(0.6, 1.4);
    stampBlob(canvas, rng.float(0, width), rng.float(0, height), r, r, 0, -rng.float(0.15, 0.45), 0.4);
  }
  if (rng.bool(0.45)) {
    const a = rng.float(0, Math.PI);
    const cx = rng.float(0.2, 0.8) * width;
    const cy = rng.float(0.2, 0.8) * height;
    const half = width + height;
    const amp = (rng.bool() ? 1 : -1) * rng.float(0.04, 0.07);
    strokePolyline(canvas, [
      { x: cx - Math.cos(a) * half, y: cy - Math.sin(a) * half, amp, hw: 0.6 },
      { x: cx + Math.cos(a) * half, y: cy + Math.sin(a) * half, amp, hw: 0.6 },
    ]);
  }
  if (rng.bool(0.6)) {
    const r = rng.float(0.25, 0.6) * Math.min(width, height);
    stampBlob(canvas, rng.float(0, width), rng.float(0, height), r * rng.float(1, 2), r, rng.float(0, Math.PI), (rng.bool() ? 1 : -1) * rng.float(0.03, 0.07), 0);
  }
  if (rng.bool(0.25)) {
    // A darker strip along one whole side, as where the tile curves away from the light.
    const side = rng.int(0, 3);
    const depth = rng.float(0.03, 0.08) * (side < 2 ? width : height);
    const amp = -rng.float(0.08, 0.16);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const d = side === 0 ? x : side === 1 ? width - 1 - x : side === 2 ? y : height - 1 - y;
        if (d < depth * 2) data[y * width + x] = (data[y * width + x] as number) + amp * Math.exp(-((d / depth) ** 2));
      }
    }
  }
}
