/**
 * Drawing primitives on a "defect layer": a width×height Float32Array of relative intensity changes
 * (-0.3 = 30 % darker). The layer multiplies the background, so defects keep their look on
 * dark and bright steel alike.
 */

/** A width×height defect layer (row-major); the primitives below draw on any. */
export interface Canvas {
  width: number;
  height: number;
  data: Float32Array;
}

/** A square layer: the steel renderers work in `size` units. */
export interface Layer extends Canvas {
  size: number;
}

export function createLayer(size: number): Layer {
  return { size, width: size, height: size, data: new Float32Array(size * size) };
}

export function createCanvas(width: number, height: number): Canvas {
  return { width, height, data: new Float32Array(width * height) };
}

export interface StrokePoint {
  x: number;
  y: number;
  /** Relative intensity at this point (negative = dark). */
  amp: number;
  /** Half width of the line at this point, in pixels. */
  hw: number;
}

function distToSegment(px: number, py: number, ax: number, ay: number, bx: number, by: number): { d: number; t: number } {
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
  t = t < 0 ? 0 : Math.min(t, 1);
  const ex = px - (ax + t * dx);
  const ey = py - (ay + t * dy);
  return { d: Math.sqrt(ex * ex + ey * ey), t };
}

/**
 * Anti-aliased polyline with a Gaussian cross profile. Within one stroke the strongest
 * contribution per pixel wins (no dark beads at the joints); strokes add to each other.
 */
export function strokePolyline(layer: Canvas, points: readonly StrokePoint[]): void {
  if (points.length < 2) return;
  const { width, height, data } = layer;
  const touched = new Map<number, number>();
  for (let s = 0; s < points.length - 1; s++) {
    const a = points[s] as StrokePoint;
    const b = points[s + 1] as StrokePoint;
    const reach = Math.max(a.hw, b.hw) * 2.5 + 1;
    const x0 = Math.max(0, Math.floor(Math.min(a.x, b.x) - reach));
    const x1 = Math.min(width - 1, Math.ceil(Math.max(a.x, b.x) + reach));
    const y0 = Math.max(0, Math.floor(Math.min(a.y, b.y) - reach));
    const y1 = Math.min(height - 1, Math.ceil(Math.max(a.y, b.y) + reach));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const { d, t } = distToSegment(x, y, a.x, a.y, b.x, b.y);
        const hw = a.hw + (b.hw - a.hw) * t;
        if (d > hw * 2.5 + 0.5) continue;
        const amp = a.amp + (b.amp - a.amp) * t;
        // Gaussian profile; widths under a pixel still show as faint anti-aliased lines.
        const w = Math.max(hw, 0.35);
        const v = amp * Math.exp(-(d * d) / (2 * w * w)) * Math.min(1, hw / 0.35);
        const i = y * width + x;
        const prev = touched.get(i);
        if (prev === undefined || Math.abs(v) > Math.abs(prev)) touched.set(i, v);
      }
    }
  }
  for (const [i, v] of touched) data[i] = (data[i] as number) + v;
}

/**
 * Rotated elliptical blob. `hardness` 0 gives a Gaussian, 1 a crisp disc; `edge(x, y)` may
 * perturb the normalised radius to make the outline irregular.
 */
export function stampBlob(
  layer: Canvas,
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  angle: number,
  amp: number,
  hardness: number,
  edge?: (x: number, y: number) => number,
): void {
  const { width, height, data } = layer;
  const reach = Math.max(rx, ry) * 1.8 + 2;
  const x0 = Math.max(0, Math.floor(cx - reach));
  const x1 = Math.min(width - 1, Math.ceil(cx + reach));
  const y0 = Math.max(0, Math.floor(cy - reach));
  const y1 = Math.min(height - 1, Math.ceil(cy + reach));
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const dx = x - cx;
      const dy = y - cy;
      const u = (dx * cos + dy * sin) / rx;
      const v = (-dx * sin + dy * cos) / ry;
      let r = Math.sqrt(u * u + v * v);
      if (edge) r += edge(x, y);
      const gauss = Math.exp(-r * r * 2);
      const disc = r < 0.8 ? 1 : r > 1.15 ? 0 : 1 - (r - 0.8) / 0.35;
      const value = gauss * (1 - hardness) + disc * hardness;
      if (value > 0.002) data[y * width + x] = (data[y * width + x] as number) + amp * value;
    }
  }
}

/** A wobbly path from (x0, y0) heading `angle`, `steps` segments of `step` px, turning by up to `wobble` rad per step. */
export function wanderPath(
  x0: number,
  y0: number,
  angle: number,
  steps: number,
  step: number,
  wobble: number,
  next: () => number,
): { x: number; y: number }[] {
  const pts = [{ x: x0, y: y0 }];
  let a = angle;
  let x = x0;
  let y = y0;
  for (let i = 0; i < steps; i++) {
    a += (next() * 2 - 1) * wobble;
    x += Math.cos(a) * step;
    y += Math.sin(a) * step;
    pts.push({ x, y });
  }
  return pts;
}
