/**
 * The little maths behind the inline-SVG charts: linear scales, "nice" ticks, and path strings.
 * Kept pure so it is unit-tested without a DOM.
 */

export interface Point {
  x: number;
  y: number | null | undefined;
}

export interface LinearScale {
  (value: number): number;
  domain: [number, number];
  range: [number, number];
}

/** Maps [d0, d1] onto [r0, r1]; a zero-width domain maps everything to the middle of the range. */
export function linearScale(domain: [number, number], range: [number, number]): LinearScale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0;
  const fn = ((v: number) => (span === 0 ? (r0 + r1) / 2 : r0 + ((v - d0) / span) * (r1 - r0))) as LinearScale;
  fn.domain = domain;
  fn.range = range;
  return fn;
}

/** Min and max of the finite values, or null when there are none. */
export function extent(values: Iterable<number | null | undefined>): [number, number] | null {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : null;
}

/** A step of 1, 2 or 5 × 10^k giving about `count` intervals over `span`. */
export function niceStep(span: number, count: number): number {
  if (!(span > 0) || !(count > 0)) return 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * power;
}

/** Widens [lo, hi] to multiples of a nice step, so the axis starts and ends on a tick. */
export function niceDomain(domain: [number, number], count = 5): [number, number] {
  let [lo, hi] = domain;
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep(hi - lo, count);
  return [roundTo(Math.floor(lo / step) * step, step), roundTo(Math.ceil(hi / step) * step, step)];
}

/** Tick values inside the domain at a nice step (both ends included when they fall on the step). */
export function ticks(domain: [number, number], count = 5): number[] {
  const [lo, hi] = domain;
  if (!(hi > lo)) return [lo];
  const step = niceStep(hi - lo, count);
  const out: number[] = [];
  const start = Math.ceil(lo / step - 1e-9) * step;
  for (let v = start; v <= hi + step * 1e-9; v += step) out.push(roundTo(v, step));
  return out;
}

/** Removes floating-point noise (0.30000000000000004 → 0.3) at the precision of `step`. */
function roundTo(v: number, step: number): number {
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  return Number(v.toFixed(Math.min(decimals, 12)));
}

/**
 * SVG path "M x y L x y …" through the points; a missing y (null, NaN) breaks the line, so a
 * gap in the data shows as a gap instead of a misleading straight segment.
 */
export function linePath(points: readonly Point[], x: LinearScale, y: LinearScale): string {
  const parts: string[] = [];
  let pen = false;
  for (const p of points) {
    if (p.y === null || p.y === undefined || !Number.isFinite(p.y) || !Number.isFinite(p.x)) {
      pen = false;
      continue;
    }
    parts.push(`${pen ? 'L' : 'M'}${fmt(x(p.x))} ${fmt(y(p.y))}`);
    pen = true;
  }
  return parts.join(' ');
}

function fmt(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/**
 * Keeps at most `max` points by averaging y over equal-size buckets (x = the bucket's last x), so a
 * per-batch loss with thousands of points stays a cheap path with the same shape.
 */
export function downsample(points: readonly Point[], max: number): Point[] {
  if (points.length <= max || max < 2) return [...points];
  const size = Math.ceil(points.length / max);
  const out: Point[] = [];
  for (let i = 0; i < points.length; i += size) {
    const bucket = points.slice(i, i + size);
    const ys = bucket.map((p) => p.y).filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
    const last = bucket[bucket.length - 1] as Point;
    out.push({ x: last.x, y: ys.length ? ys.reduce((a, b) => a + b, 0) / ys.length : null });
  }
  return out;
}

/** Short tick labels: 0.25, 1.5k, 3e-4. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1000) return `${Number((v / 1000).toFixed(1))}k`;
  if (a < 0.001) return v.toExponential(0);
  return String(Number(v.toPrecision(3)));
}
