/**
 * The little maths behind the line charts (options.ts): downsampling long series and compact tick labels.
 * Kept pure so it is unit-tested without a DOM.
 */

export interface Point {
  x: number;
  y: number | null | undefined;
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
