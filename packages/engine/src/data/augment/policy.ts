import { createHash } from 'node:crypto';

/** Augmentation policy; field names and ranges are those of the augment node's params. */
export interface AugmentPolicy {
  hflip: boolean;
  vflip: boolean;
  rot90: boolean;
  /** Random crop keeping a side fraction in [1 - cropScale, 1], resized back (0..0.5). */
  cropScale: number;
  /** Additive brightness shift up to ±brightness × 255 (0..0.5). */
  brightness: number;
  /** Contrast factor in [1 - contrast, 1 + contrast] around each channel's mean (0..0.5). */
  contrast: number;
  /** Gaussian noise std as a fraction of 255 (0..0.2). */
  noise: number;
  /** Gaussian blur sigma drawn uniformly from [0, blur] pixels (0..3). */
  blur: number;
  /** Augmented views per train image (0..10). */
  copies: number;
  seed: number;
}

export const DEFAULT_AUGMENT_POLICY: AugmentPolicy = {
  hflip: true,
  vflip: true,
  rot90: true,
  cropScale: 0.1,
  brightness: 0.1,
  contrast: 0.1,
  noise: 0.02,
  blur: 0,
  copies: 1,
  seed: 42,
};

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
