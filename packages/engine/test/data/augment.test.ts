import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUGMENT_POLICY,
  augmentImage,
  augmentationSignature,
  createRng,
  imageOps,
  normalizeAugmentPolicy,
} from '../../src/data/index.ts';

const SIZE = 16;
const CH = 3;

/** A test image where every value is unique: v = (y * SIZE + x) * CH + c. */
function ramp(size = SIZE, channels = CH): Float32Array {
  return Float32Array.from({ length: size * size * channels }, (_, i) => i % 256);
}
const px = (img: Float32Array, x: number, y: number, size = SIZE) => Array.from(img.subarray((y * size + x) * CH, (y * size + x) * CH + CH));
const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
const variance = (a: Float32Array) => {
  const m = mean(a);
  return a.reduce((s, v) => s + (v - m) ** 2, 0) / a.length;
};

const NONE = { hflip: false, vflip: false, rot90: false, cropScale: 0, brightness: 0, contrast: 0, noise: 0, blur: 0 };

describe('image ops', () => {
  it('hflip mirrors columns and twice is the identity', () => {
    const img = ramp();
    const once = imageOps.hflip(img, SIZE, CH);
    expect(px(once, 0, 3)).toEqual(px(img, SIZE - 1, 3));
    expect(px(once, 5, 7)).toEqual(px(img, SIZE - 6, 7));
    expect(imageOps.hflip(once, SIZE, CH)).toEqual(img);
  });

  it('vflip mirrors rows and twice is the identity', () => {
    const img = ramp();
    const once = imageOps.vflip(img, SIZE, CH);
    expect(px(once, 4, 0)).toEqual(px(img, 4, SIZE - 1));
    expect(imageOps.vflip(once, SIZE, CH)).toEqual(img);
  });

  it('rot90 turns counter-clockwise: the top-right pixel moves to the top-left; four turns are the identity', () => {
    const img = ramp();
    const r1 = imageOps.rot90(img, SIZE, CH, 1);
    expect(px(r1, 0, 0)).toEqual(px(img, SIZE - 1, 0));
    expect(px(r1, 0, SIZE - 1)).toEqual(px(img, 0, 0));
    expect(px(r1, 3, 5)).toEqual(px(img, SIZE - 1 - 5, 3));
    const r2 = imageOps.rot90(img, SIZE, CH, 2);
    expect(px(r2, 2, 6)).toEqual(px(img, SIZE - 1 - 2, SIZE - 1 - 6));
    expect(imageOps.rot90(r1, SIZE, CH, 3)).toEqual(img);
    expect(imageOps.rot90(imageOps.rot90(r2, SIZE, CH, 1), SIZE, CH, 1)).toEqual(img);
    expect(imageOps.rot90(img, SIZE, CH, -1)).toEqual(imageOps.rot90(img, SIZE, CH, 3));
  });

  it('cropResize of the full frame is the identity and a half crop magnifies a quadrant', () => {
    const img = ramp();
    expect(imageOps.cropResize(img, SIZE, CH, 0, 0, SIZE)).toEqual(img);
    // A blocky image: the top-left 8×8 quadrant is 200, the rest 0.
    const blocks = new Float32Array(SIZE * SIZE * CH);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) blocks.fill(200, (y * SIZE + x) * CH, (y * SIZE + x) * CH + CH);
    const zoomed = imageOps.cropResize(blocks, SIZE, CH, 0, 0, 8);
    expect(px(zoomed, 2, 2)).toEqual([200, 200, 200]);
    expect(px(zoomed, 12, 12)[0]).toBeGreaterThan(150);
  });

  it('brightness shifts and contrast scales around the channel mean, clamped to 0..255', () => {
    const img = Float32Array.from({ length: 4 * 4 * 1 }, (_, i) => (i % 2 === 0 ? 100 : 140));
    const brighter = imageOps.adjustBrightnessContrast(img, 4, 1, 20, 1);
    expect(brighter[0]).toBe(120);
    expect(brighter[1]).toBe(160);
    const flatter = imageOps.adjustBrightnessContrast(img, 4, 1, 0, 0.5);
    expect(flatter[0]).toBe(110);
    expect(flatter[1]).toBe(130);
    expect(Math.max(...imageOps.adjustBrightnessContrast(img, 4, 1, 300, 1))).toBe(255);
  });

  it('gaussian blur keeps the mean of a flat image, lowers variance of a noisy one', () => {
    const flat = new Float32Array(SIZE * SIZE * CH).fill(90);
    expect(imageOps.gaussianBlur(flat, SIZE, CH, 1.5).every((v) => Math.abs(v - 90) < 1e-3)).toBe(true);
    const rng = createRng(4);
    const noisy = Float32Array.from({ length: SIZE * SIZE * CH }, () => rng.float(0, 255));
    const blurred = imageOps.gaussianBlur(noisy, SIZE, CH, 1.5);
    expect(variance(blurred)).toBeLessThan(variance(noisy) / 3);
    expect(Math.abs(mean(blurred) - mean(noisy))).toBeLessThan(5);
  });

  it('gaussian noise has about the requested standard deviation', () => {
    const rng = createRng(5);
    const flat = new Float32Array(64 * 64).fill(128);
    const noisy = imageOps.addGaussianNoise(flat, 10, () => rng.normal());
    expect(Math.sqrt(variance(noisy))).toBeGreaterThan(9);
    expect(Math.sqrt(variance(noisy))).toBeLessThan(11);
  });
});

describe('augmentImage', () => {
  it('is seeded: the same seed gives the same output, another seed a different one', () => {
    const img = ramp();
    const a = augmentImage(img, SIZE, CH, DEFAULT_AUGMENT_POLICY, createRng(42));
    const b = augmentImage(img, SIZE, CH, DEFAULT_AUGMENT_POLICY, createRng(42));
    const c = augmentImage(img, SIZE, CH, DEFAULT_AUGMENT_POLICY, createRng(43));
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('returns a new array and leaves the input untouched; everything off is the identity', () => {
    const img = ramp();
    const copy = img.slice();
    const out = augmentImage(img, SIZE, CH, NONE, createRng(1));
    expect(out).not.toBe(img);
    expect(out).toEqual(img);
    augmentImage(img, SIZE, CH, DEFAULT_AUGMENT_POLICY, createRng(1));
    expect(img).toEqual(copy);
  });

  it('with only flips and rotations, produces one of the 8 symmetries of the square', () => {
    const img = ramp();
    const variants = [0, 1, 2, 3].flatMap((k) => {
      const r = imageOps.rot90(img, SIZE, CH, k);
      return [r, imageOps.hflip(r, SIZE, CH)];
    });
    const seen = new Set<number>();
    for (let seed = 0; seed < 40; seed++) {
      const out = augmentImage(img, SIZE, CH, { ...NONE, hflip: true, vflip: true, rot90: true }, createRng(seed));
      const match = variants.findIndex((v) => v.every((x, i) => x === out[i]));
      expect(match).toBeGreaterThanOrEqual(0);
      seen.add(match);
    }
    expect(seen.size).toBeGreaterThan(4);
  });

  it('brightness jitter stays within ±brightness × 255 and values stay in 0..255', () => {
    const flat = new Float32Array(SIZE * SIZE * CH).fill(128);
    for (let seed = 0; seed < 20; seed++) {
      const out = augmentImage(flat, SIZE, CH, { ...NONE, brightness: 0.1 }, createRng(seed));
      expect(Math.abs((out[0] as number) - 128)).toBeLessThanOrEqual(25.5 + 1e-3);
      expect(out.every((v) => v === out[0])).toBe(true);
    }
    const all = augmentImage(ramp(), SIZE, CH, { ...DEFAULT_AUGMENT_POLICY, brightness: 0.5, noise: 0.2 }, createRng(3));
    expect(Math.min(...all)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...all)).toBeLessThanOrEqual(255);
  });

  it('toggling one op does not change the random draws of the others', () => {
    // Values 50..200 so a brightness shift never clamps.
    const img = Float32Array.from(ramp(), (v) => 50 + (v / 255) * 150);
    for (let seed = 0; seed < 10; seed++) {
      const geometry = augmentImage(img, SIZE, CH, { ...NONE, hflip: true, vflip: true, rot90: true }, createRng(seed));
      const plusBrightness = augmentImage(img, SIZE, CH, { ...NONE, hflip: true, vflip: true, rot90: true, brightness: 0.1 }, createRng(seed));
      const shift = (plusBrightness[0] as number) - (geometry[0] as number);
      expect(plusBrightness.every((v, i) => Math.abs(v - (geometry[i] as number) - shift) < 1e-3)).toBe(true);
    }
  });
});

describe('augmentationSignature', () => {
  it('is stable, fills defaults, and changes with any parameter', () => {
    expect(augmentationSignature({})).toBe(augmentationSignature(DEFAULT_AUGMENT_POLICY));
    expect(augmentationSignature({ hflip: true, vflip: true })).toBe(augmentationSignature({ vflip: true, hflip: true }));
    const base = augmentationSignature(DEFAULT_AUGMENT_POLICY);
    for (const change of [{ hflip: false }, { cropScale: 0.2 }, { noise: 0.05 }, { copies: 3 }, { seed: 1 }]) {
      expect(augmentationSignature({ ...DEFAULT_AUGMENT_POLICY, ...change })).not.toBe(base);
    }
  });

  it('normalizeAugmentPolicy clamps to the node ranges', () => {
    expect(normalizeAugmentPolicy({ cropScale: 2, noise: -1, copies: 99, blur: 5 })).toMatchObject({
      cropScale: 0.5,
      noise: 0,
      copies: 10,
      blur: 3,
    });
  });
});
