import { describe, expect, it } from 'vitest';
import { SimdOptimizer } from '../../src/model/simd-optimizer.ts';

/** The update in plain JS, rounded to float32 per value as the SIMD lanes are. */
function adamReference(p: Float32Array, m: Float32Array, v: Float32Array, g: Float32Array, step: number, eps: number): void {
  for (let i = 0; i < p.length; i++) {
    const gi = g[i] as number;
    m[i] = 0.9 * (m[i] as number) + 0.1 * gi;
    v[i] = 0.999 * (v[i] as number) + 0.001 * gi * gi;
    p[i] = (p[i] as number) - (step * (m[i] as number)) / (Math.sqrt(v[i] as number) + eps);
  }
}

describe('SimdOptimizer', () => {
  // 4·k + 3 values: the last SIMD lane runs over padding, which must neither leak nor corrupt.
  const n = 4 * 25 + 3;
  const grad = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 1.3));
  const start = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 0.4));

  it('Adam matches the scalar update over several steps, padding lane included', () => {
    const opt = SimdOptimizer.create([n, n, n, n, 5]);
    if (!opt) throw new Error('wasm SIMD unavailable');
    const [p, m, v, g, next] = opt.views as [Float32Array, Float32Array, Float32Array, Float32Array, Float32Array];
    p.set(start);
    g.set(grad);
    next.fill(7);
    const ref = [Float32Array.from(start), new Float32Array(n), new Float32Array(n)] as const;
    for (let t = 1; t <= 4; t++) {
      opt.adam(p, m, v, g, 0.01 * t, 1e-7);
      adamReference(ref[0], ref[1], ref[2], grad, 0.01 * t, 1e-7);
    }
    for (const [i, x] of p.entries()) expect(x).toBeCloseTo(ref[0][i] as number, 6);
    for (const [i, x] of v.entries()) expect(x).toBeCloseTo(ref[2][i] as number, 7);
    expect(p[1]).not.toBeCloseTo(start[1] as number, 3); // it moved (g[0] = sin 0 = 0)
    expect(Array.from(next)).toEqual([7, 7, 7, 7, 7]); // the array after the padding is untouched
  });

  it('momentum SGD: m = 0.9m + g, p -= lr·m', () => {
    const opt = SimdOptimizer.create([n, n, n]);
    if (!opt) throw new Error('wasm SIMD unavailable');
    const [p, m, g] = opt.views as [Float32Array, Float32Array, Float32Array];
    p.set(start);
    g.set(grad);
    opt.momentum(p, m, g, 0.1);
    opt.momentum(p, m, g, 0.1);
    for (let i = 0; i < n; i++) {
      const g0 = grad[i] as number;
      expect(m[i]).toBeCloseTo(0.9 * g0 + g0, 6);
      expect(p[i]).toBeCloseTo((start[i] as number) - 0.1 * g0 - 0.1 * 1.9 * g0, 6);
    }
  });

  it('grows its memory for large parameter sets (1M floats per array)', () => {
    const opt = SimdOptimizer.create([1 << 20, 1 << 20]);
    if (!opt) throw new Error('wasm SIMD unavailable');
    expect(opt.views.map((a) => a.length)).toEqual([1 << 20, 1 << 20]);
    expect(opt.views[1]?.byteOffset).toBe(4 << 20);
  });
});
