import { describe, expect, it } from 'vitest';
import { downsample, extent, formatTick, linearScale, linePath, niceDomain, ticks } from '../src/runs/chart/scale.ts';

describe('SVG curve scaling', () => {
  it('maps a domain onto a pixel range, including an inverted y range', () => {
    const x = linearScale([0, 10], [40, 440]);
    expect(x(0)).toBe(40);
    expect(x(5)).toBe(240);
    expect(x(10)).toBe(440);
    const y = linearScale([0, 1], [200, 0]); // SVG y grows downwards
    expect(y(0)).toBe(200);
    expect(y(1)).toBe(0);
    expect(y(0.25)).toBe(150);
    // A flat domain (one point) goes to the middle instead of dividing by zero.
    expect(linearScale([3, 3], [0, 100])(3)).toBe(50);
  });

  it('computes the extent of finite values only', () => {
    expect(extent([3, null, 1, Number.NaN, 7, undefined])).toEqual([1, 7]);
    expect(extent([null, Number.NaN])).toBeNull();
  });

  it('rounds domains out to nice ticks', () => {
    expect(niceDomain([0.13, 0.92])).toEqual([0, 1]);
    expect(niceDomain([0.13, 0.52])).toEqual([0.1, 0.6]);
    expect(niceDomain([0, 7.3])).toEqual([0, 8]);
    expect(ticks([0, 1], 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(ticks([0, 8], 5)).toEqual([0, 2, 4, 6, 8]);
    const flat = niceDomain([2, 2]);
    expect(flat[0]).toBeLessThan(2);
    expect(flat[1]).toBeGreaterThan(2);
  });

  it('builds a path and breaks it at missing values', () => {
    const x = linearScale([1, 4], [0, 300]);
    const y = linearScale([0, 1], [100, 0]);
    const d = linePath(
      [
        { x: 1, y: 0 },
        { x: 2, y: 0.5 },
        { x: 3, y: null },
        { x: 4, y: 1 },
      ],
      x,
      y,
    );
    expect(d).toBe('M0 100 L100 50 M300 0');
    expect(linePath([], x, y)).toBe('');
  });

  it('downsamples long series by bucket averages, keeping the x extent', () => {
    const pts = Array.from({ length: 1000 }, (_, i) => ({ x: i + 1, y: i % 2 }));
    const out = downsample(pts, 100);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out[out.length - 1]?.x).toBe(1000);
    expect(out.every((p) => p.y === 0.5)).toBe(true);
    expect(downsample(pts.slice(0, 10), 100)).toHaveLength(10);
  });

  it('formats tick labels compactly', () => {
    expect(formatTick(0)).toBe('0');
    expect(formatTick(0.25)).toBe('0.25');
    expect(formatTick(1500)).toBe('1.5k');
    expect(formatTick(0.0003)).toBe('3e-4');
  });
});
