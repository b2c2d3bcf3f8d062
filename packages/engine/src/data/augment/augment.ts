import type { Rng } from '../rng.ts';
import { adjustBrightnessContrast, addGaussianNoise, brightnessContrastNoise, gaussianBlur, transformGeometry } from './ops.ts';
import { type AugmentPolicy, normalizeAugmentPolicy } from './policy.ts';

/** The random draws of one view, in their fixed order (all drawn whatever the policy enables). */
export function drawAugmentation(p: AugmentPolicy, rng: Rng) {
  return {
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
}

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
  const draw = drawAugmentation(p, rng);
  // Geometry as one resampling pass, photometry as one pass when no blur sits between its steps:
  // the same values as the ops one after another (tested), at a third of the time.
  const side = draw.cropSide * size;
  const crop = p.cropScale > 0 ? { x0: draw.cropX * (size - side), y0: draw.cropY * (size - side), side } : null;
  const turns = p.rot90 ? draw.k : 0;
  let out = data;
  if (crop || (p.hflip && draw.hflip) || (p.vflip && draw.vflip) || turns > 0)
    out = transformGeometry(out, size, channels, crop, p.hflip && draw.hflip, p.vflip && draw.vflip, turns);
  const photometric = p.brightness > 0 || p.contrast > 0;
  if (photometric && draw.blur <= 0 && p.noise > 0) {
    out = brightnessContrastNoise(out, size, channels, draw.brightness, draw.contrast, p.noise * 255, rng);
  } else {
    if (photometric) out = adjustBrightnessContrast(out, size, channels, draw.brightness, draw.contrast);
    if (draw.blur > 0) out = gaussianBlur(out, size, channels, draw.blur);
    if (p.noise > 0) out = addGaussianNoise(out, p.noise * 255, rng);
  }
  return out === data ? data.slice() : out;
}

/** True when every pixel of an HWC RGB image has R = G = B. */
function isGray(data: Float32Array): boolean {
  for (let i = 0; i < data.length; i += 3) if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  return true;
}

/**
 * augmentImage for an HWC RGB image as decoded from disk. A grayscale image (most surface-inspection
 * cameras are monochrome) is augmented on one channel and copied back to three: a third of the
 * work, and its noise stays grey (sensor noise of a mono camera) instead of turning into colour
 * speckle. Without noise the result equals augmentImage on the three channels exactly.
 */
export function augmentRgbView(data: Float32Array, size: number, policy: Partial<AugmentPolicy>, rng: Rng): Float32Array {
  if (!isGray(data)) return augmentImage(data, size, 3, policy, rng);
  const gray = new Float32Array(size * size);
  for (let i = 0; i < gray.length; i++) gray[i] = data[i * 3] as number;
  const out = augmentImage(gray, size, 1, policy, rng);
  const rgb = new Float32Array(size * size * 3);
  for (let i = 0; i < out.length; i++) {
    const v = out[i] as number;
    rgb[i * 3] = v;
    rgb[i * 3 + 1] = v;
    rgb[i * 3 + 2] = v;
  }
  return rgb;
}
