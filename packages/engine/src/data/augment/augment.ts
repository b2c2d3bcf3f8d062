import type { Rng } from '../rng.ts';
import { adjustBrightnessContrast, addGaussianNoise, cropResize, gaussianBlur, hflip, rot90, vflip } from './ops.ts';
import { type AugmentPolicy, normalizeAugmentPolicy } from './policy.ts';

/**
 * One random augmented view of a square HWC float image (0..255): geometry first (crop/scale,
 * flips, 90° turns), then photometry (brightness/contrast, blur, noise). Every random number is
 * drawn in a fixed order whatever the policy enables, so toggling one op does not reshuffle the
 * draws of the others. Returns a new array; the input is untouched.
 */
export function augmentImage(
  data: Float32Array,
  size: number,
  channels: number,
  policy: Partial<AugmentPolicy>,
  rng: Rng,
): Float32Array {
  const p = normalizeAugmentPolicy(policy);
  const draw = {
    hflip: rng.next() < 0.5,
    vflip: rng.next() < 0.5,
    k: Math.floor(rng.next() * 4),
    cropSide: 1 - p.cropScale * rng.next(),
    cropX: rng.next(),
    cropY: rng.next(),
    brightness: rng.float(-1, 1) * p.brightness * 255,
    contrast: 1 + rng.float(-1, 1) * p.contrast,
    blur: rng.next() * p.blur,
  };
  let out = data;
  if (p.cropScale > 0) {
    const side = draw.cropSide * size;
    out = cropResize(out, size, channels, draw.cropX * (size - side), draw.cropY * (size - side), side);
  }
  if (p.hflip && draw.hflip) out = hflip(out, size, channels);
  if (p.vflip && draw.vflip) out = vflip(out, size, channels);
  if (p.rot90 && draw.k > 0) out = rot90(out, size, channels, draw.k);
  if (p.brightness > 0 || p.contrast > 0) out = adjustBrightnessContrast(out, size, channels, draw.brightness, draw.contrast);
  if (draw.blur > 0) out = gaussianBlur(out, size, channels, draw.blur);
  if (p.noise > 0) out = addGaussianNoise(out, p.noise * 255, () => rng.normal());
  return out === data ? data.slice() : out;
}
