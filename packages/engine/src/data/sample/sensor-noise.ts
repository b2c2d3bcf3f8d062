import { createRng } from '../rng.ts';

/** Standard normal samples drawn once; per-pixel sensor noise indexes it (one PRNG call instead of Box–Muller). */
export const NORMAL_TABLE = (() => {
  const rng = createRng(0x5eed);
  return Float32Array.from({ length: 1 << 16 }, () => rng.normal());
})();
