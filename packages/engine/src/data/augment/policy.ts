import { createHash } from 'node:crypto';

import { type AugmentPolicy, DEFAULT_AUGMENT_POLICY } from '../../constants.ts';

export { type AugmentPolicy, DEFAULT_AUGMENT_POLICY };

/** Fills defaults and clamps to the node's ranges. */
export function normalizeAugmentPolicy(policy: Partial<AugmentPolicy> = {}): AugmentPolicy {
  const p = { ...DEFAULT_AUGMENT_POLICY, ...policy };
  const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, Number.isFinite(v) ? v : lo));
  return {
    hflip: Boolean(p.hflip),
    vflip: Boolean(p.vflip),
    rot90: Boolean(p.rot90),
    cropScale: clamp(p.cropScale, 0, 0.5),
    brightness: clamp(p.brightness, 0, 0.5),
    contrast: clamp(p.contrast, 0, 0.5),
    noise: clamp(p.noise, 0, 0.2),
    blur: clamp(p.blur, 0, 3),
    copies: Math.round(clamp(p.copies, 0, 10)),
    seed: Math.trunc(p.seed),
  };
}

/** Stable short hash of a policy (after defaults), for cache keys: same policy → same signature. */
export function augmentationSignature(policy: Partial<AugmentPolicy>): string {
  const p = normalizeAugmentPolicy(policy);
  const keys = Object.keys(p).sort() as (keyof AugmentPolicy)[];
  const canonical = JSON.stringify(keys.map((k) => [k, p[k]]));
  return createHash('sha1').update(`augment:v2:${canonical}`).digest('hex').slice(0, 16);
}
