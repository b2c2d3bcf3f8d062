import { describe, expect, it } from 'vitest';
import { downsample, formatTick } from '../src/runs/chart/scale.ts';

describe('line chart helpers', () => {
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
