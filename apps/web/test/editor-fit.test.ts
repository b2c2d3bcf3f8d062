import { describe, expect, it } from 'vitest';
import { READABLE_ZOOM, readableViewport } from '../src/editor/fit.ts';

describe('readable fit-to-view (issue 20 item 8)', () => {
  it('a wide graph stays readable, left-aligned, clear of the reserved bottom band', () => {
    // The default template: 1816 × 480 flow px in a 944 × 815 canvas (1440 × 900 window).
    const v = readableViewport({ x: 0, y: 0, width: 1816, height: 480 }, { width: 944, height: 815, reserveBottom: 150 });
    expect(v.zoom).toBe(READABLE_ZOOM);
    expect(v.x).toBe(24);
    const bottom = v.y + 480 * v.zoom;
    expect(bottom).toBeLessThanOrEqual(815 - 150);
  });

  it('a small graph is centred at zoom 1 at most', () => {
    const v = readableViewport({ x: 100, y: 50, width: 400, height: 200 }, { width: 1000, height: 800, reserveBottom: 0 });
    expect(v.zoom).toBe(1);
    expect(v.x + 100 + 200).toBeCloseTo(500);
    expect(v.y + 50 + 100).toBeCloseTo(400);
  });

  it('zooms out to fit when it can while staying readable', () => {
    const v = readableViewport({ x: 0, y: 0, width: 1200, height: 300 }, { width: 1048, height: 600, reserveBottom: 0 });
    expect(v.zoom).toBeCloseTo(1000 / 1200);
  });
});
