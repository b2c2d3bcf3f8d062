import { describe, expect, it } from 'vitest';
import {
  DEFAULT_AUGMENT_POLICY,
  augmentImage,
  augmentRgbView,
  augmentationSignature,
  drawAugmentation,
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
    const noisy = imageOps.addGaussianNoise(flat, 10, rng);
    expect(Math.sqrt(variance(noisy))).toBeGreaterThan(9.7);
    expect(Math.sqrt(variance(noisy))).toBeLessThan(10.3);
    expect(Math.abs(mean(noisy) - 128)).toBeLessThan(0.6); // 4 standard errors
    // Gaussian shape: about 68 % within one σ, 95 % within two, and tails beyond three.
    const within = (k: number) => noisy.filter((v) => Math.abs(v - 128) < 10 * k).length / noisy.length;
    expect(within(1)).toBeGreaterThan(0.66);
    expect(within(1)).toBeLessThan(0.7);
    expect(within(2)).toBeGreaterThan(0.94);
    expect(within(2)).toBeLessThan(0.965);
    expect(noisy.some((v) => Math.abs(v - 128) > 30)).toBe(true);
  });
});

describe('fused augmentation passes', () => {
  /** What augmentImage did before the fused passes: one op after another, with the same draws. */
  function sequential(img: Float32Array, size: number, policy: Partial<typeof DEFAULT_AUGMENT_POLICY>, seed: number): Float32Array {
    const p = normalizeAugmentPolicy(policy);
    const rng = createRng(seed);
    const d = drawAugmentation(p, rng);
    let out = img;
    const side = d.cropSide * size;
    if (p.cropScale > 0) out = imageOps.cropResize(out, size, CH, d.cropX * (size - side), d.cropY * (size - side), side);
    if (p.hflip && d.hflip) out = imageOps.hflip(out, size, CH);
    if (p.vflip && d.vflip) out = imageOps.vflip(out, size, CH);
    if (p.rot90 && d.k > 0) out = imageOps.rot90(out, size, CH, d.k);
    if (p.brightness > 0 || p.contrast > 0) out = imageOps.adjustBrightnessContrast(out, size, CH, d.brightness, d.contrast);
    if (d.blur > 0) out = imageOps.gaussianBlur(out, size, CH, d.blur);
    if (p.noise > 0) out = imageOps.addGaussianNoise(out, p.noise * 255, rng);
    return out;
  }

  it('give exactly the values of the ops one after another, for every flip/turn/crop/photometry mix', () => {
    const size = 24;
    const img = Float32Array.from({ length: size * size * CH }, (_, i) => (Math.sin(i * 0.11) * 0.5 + 0.5) * 255);
    const policies = [
      DEFAULT_AUGMENT_POLICY,
      { ...DEFAULT_AUGMENT_POLICY, cropScale: 0 },
      { ...DEFAULT_AUGMENT_POLICY, noise: 0 },
      { ...DEFAULT_AUGMENT_POLICY, blur: 1 },
      { ...NONE, hflip: true, rot90: true },
      { ...NONE, cropScale: 0.3, vflip: true, brightness: 0.2, contrast: 0.3, noise: 0.05 },
    ];
    let turnsSeen = 0;
    for (const policy of policies) {
      for (let seed = 1; seed <= 12; seed++) {
        const fused = augmentImage(img, size, CH, policy, createRng(seed));
        expect(Array.from(fused)).toEqual(Array.from(sequential(img, size, policy, seed)));
        turnsSeen++;
      }
    }
    expect(turnsSeen).toBe(72);
  });
});

describe('augmentRgbView', () => {
  const size = 20;
  const gray = new Float32Array(size * size * 3);
  for (let i = 0; i < size * size; i++) gray.fill(((i * 37) % 200) + 20, i * 3, i * 3 + 3);

  it('augments a grayscale image on one channel: same result as three channels when there is no noise', () => {
    for (let seed = 1; seed <= 8; seed++) {
      const policy = { ...DEFAULT_AUGMENT_POLICY, noise: 0, blur: 0.5 };
      const one = augmentRgbView(gray, size, policy, createRng(seed));
      expect(Array.from(one)).toEqual(Array.from(augmentImage(gray, size, CH, policy, createRng(seed))));
    }
  });

  it('keeps a grayscale image grey under noise, and leaves colour images to augmentImage', () => {
    const noisy = augmentRgbView(gray, size, { ...NONE, noise: 0.05 }, createRng(2));
    for (let i = 0; i < size * size; i++) {
      expect(noisy[i * 3 + 1]).toBe(noisy[i * 3]);
      expect(noisy[i * 3 + 2]).toBe(noisy[i * 3]);
    }
    expect(Math.sqrt(variance(Float32Array.from(noisy, (v, i) => v - (gray[i] as number))))).toBeGreaterThan(8);
    const colour = ramp();
    const policy = { ...DEFAULT_AUGMENT_POLICY };
    expect(Array.from(augmentRgbView(colour, SIZE, policy, createRng(5)))).toEqual(Array.from(augmentImage(colour, SIZE, CH, policy, createRng(5))));
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
