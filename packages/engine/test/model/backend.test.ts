import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';

describe('initBackend', () => {
  it('picks a working backend, says which and why the better ones were not taken', async () => {
    const info = await initBackend();
    expect(['tensorflow', 'wasm', 'cpu']).toContain(info.name);
    expect(tf.getBackend()).toBe(info.name);
    expect(info.device.length).toBeGreaterThan(0);
    if (info.name !== 'tensorflow') {
      // On machines without libtensorflow the native packages are reported as skipped, by name.
      expect(info.reasons.join('\n')).toMatch(/tfjs-node-gpu/);
      expect(info.reasons.join('\n')).toMatch(/tfjs-node\b/);
    }
    const y = tf.tidy(() => tf.add(tf.tensor1d([1, 2]), 1).arraySync());
    expect(y).toEqual([2, 3]);
  });

  it('is idempotent', async () => {
    const a = await initBackend();
    const b = await initBackend({ prefer: 'cpu' });
    expect(b).toBe(a);
  });
});
