/**
 * Pure typed-array image ops on square HWC float images (values 0..255). Each returns a new array.
 * Shapes: data.length === size * size * channels.
 */

function checkShape(data: Float32Array, size: number, channels: number): void {
  if (data.length !== size * size * channels) {
    throw new RangeError(`image has ${data.length} values, expected ${size}×${size}×${channels} = ${size * size * channels}`);
  }
}

/** Mirror left↔right. */
export function hflip(data: Float32Array, size: number, channels: number): Float32Array {
  checkShape(data, size, channels);
  const out = new Float32Array(data.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const src = (y * size + (size - 1 - x)) * channels;
      const dst = (y * size + x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c] as number;
    }
  }
  return out;
}

/** Mirror top↔bottom. */
export function vflip(data: Float32Array, size: number, channels: number): Float32Array {
  checkShape(data, size, channels);
  const out = new Float32Array(data.length);
  const row = size * channels;
  for (let y = 0; y < size; y++) out.set(data.subarray((size - 1 - y) * row, (size - y) * row), y * row);
  return out;
}

/** Rotate by k × 90° counter-clockwise (like numpy.rot90): out[y][x] = in[x][size-1-y] for k = 1. */
export function rot90(data: Float32Array, size: number, channels: number, k: number): Float32Array {
  checkShape(data, size, channels);
  const turns = ((k % 4) + 4) % 4;
  if (turns === 0) return data.slice();
  const out = new Float32Array(data.length);
  const n = size - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let sy: number;
      let sx: number;
      if (turns === 1) {
        sy = x;
        sx = n - y;
      } else if (turns === 2) {
        sy = n - y;
        sx = n - x;
      } else {
        sy = n - x;
        sx = y;
      }
      const src = (sy * size + sx) * channels;
      const dst = (y * size + x) * channels;
      for (let c = 0; c < channels; c++) out[dst + c] = data[src + c] as number;
    }
  }
  return out;
}

/**
 * Takes the square window [x0, x0+side) × [y0, y0+side) (fractional pixels allowed) and resamples
 * it bilinearly back to size×size. side = size and x0 = y0 = 0 reproduces the input.
 */
export function cropResize(data: Float32Array, size: number, channels: number, x0: number, y0: number, side: number): Float32Array {
  return transformGeometry(data, size, channels, { x0, y0, side }, false, false, 0);
}

/** Per channel, what out = in × contrastFactor + shift adds: mean × (1 − contrastFactor) + brightnessShift. */
function channelShifts(data: Float32Array, size: number, channels: number, brightnessShift: number, contrastFactor: number): Float64Array {
  const means = new Float64Array(channels);
  for (let i = 0; i < data.length; i += channels) for (let c = 0; c < channels; c++) means[c] = (means[c] as number) + (data[i + c] as number);
  const shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) shift[c] = ((means[c] as number) / (size * size)) * (1 - contrastFactor) + brightnessShift;
  return shift;
}

/** out = (in - channelMean) × contrastFactor + channelMean + brightnessShift, clamped to 0..255. */
export function adjustBrightnessContrast(
  data: Float32Array,
  size: number,
  channels: number,
  brightnessShift: number,
  contrastFactor: number,
): Float32Array {
  checkShape(data, size, channels);
  const shift = channelShifts(data, size, channels, brightnessShift, contrastFactor);
  const out = new Float32Array(data.length);
  // Pixel-major loops with the channel inner: no modulo per value (this runs on every augmented view).
  for (let i = 0; i < data.length; i += channels) {
    for (let c = 0; c < channels; c++) {
      const v = (data[i + c] as number) * contrastFactor + (shift[c] as number);
      out[i + c] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
  }
  return out;
}

const NORMAL_LEVELS = 1 << 16;
let normalQuantiles: Float32Array | null = null;

/** Φ⁻¹(p) by Acklam's rational approximation (relative error < 1.2e-9). */
function inverseNormalCdf(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - 0.02425) return -inverseNormalCdf(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

/**
 * 65,536 equally likely standard-normal values (the distribution's quantiles at cell centres,
 * tails at ±4.2σ): one uniform draw and a lookup per noisy value instead of Box–Muller's log,
 * sqrt and sin/cos, which made noise the slowest augmentation by 5×.
 */
function quantiles(): Float32Array {
  normalQuantiles ??= Float32Array.from({ length: NORMAL_LEVELS }, (_, i) => inverseNormalCdf((i + 0.5) / NORMAL_LEVELS));
  return normalQuantiles;
}

/** Adds N(0, std²) noise per value (std in 0..255 units), clamped to 0..255; `rng.next()` is uniform in [0, 1). */
export function addGaussianNoise(data: Float32Array, std: number, rng: { next(): number }): Float32Array {
  const table = quantiles();
  const out = new Float32Array(data.length);
  let bits = 0;
  for (let i = 0; i < data.length; i++) {
    // One 32-bit draw feeds two values (its high and low 16 bits each pick a quantile).
    let level: number;
    if (i & 1) level = bits & 0xffff;
    else {
      bits = (rng.next() * 4294967296) >>> 0;
      level = bits >>> 16;
    }
    const v = (data[i] as number) + std * (table[level] as number);
    out[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return out;
}

/** Separable Gaussian blur with edge clamping; sigma <= 0 returns a copy. */
export function gaussianBlur(data: Float32Array, size: number, channels: number, sigma: number): Float32Array {
  checkShape(data, size, channels);
  if (!(sigma > 0)) return data.slice();
  const radius = Math.max(1, Math.ceil(sigma * 3));
  const kernel = new Float32Array(radius * 2 + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const w = Math.exp(-(i * i) / (2 * sigma * sigma));
    kernel[i + radius] = w;
    sum += w;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i] = (kernel[i] as number) / sum;
  const max = size - 1;
  const tmp = new Float32Array(data.length);
  const out = new Float32Array(data.length);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const sx = x + k < 0 ? 0 : Math.min(x + k, max);
          acc += (kernel[k + radius] as number) * (data[(y * size + sx) * channels + c] as number);
        }
        tmp[(y * size + x) * channels + c] = acc;
      }
    }
  }
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const sy = y + k < 0 ? 0 : Math.min(y + k, max);
          acc += (kernel[k + radius] as number) * (tmp[(sy * size + x) * channels + c] as number);
        }
        out[(y * size + x) * channels + c] = acc;
      }
    }
  }
  return out;
}

/**
 * cropResize → hflip → vflip → rot90 in one pass: each output pixel is traced back through the
 * turns and flips to a point of the crop window and sampled bilinearly once (the same values the
 * four ops give one after another, with one array instead of four).
 */
export function transformGeometry(
  data: Float32Array,
  size: number,
  channels: number,
  crop: { x0: number; y0: number; side: number } | null,
  flipH: boolean,
  flipV: boolean,
  k: number,
): Float32Array {
  checkShape(data, size, channels);
  const turns = ((k % 4) + 4) % 4;
  const out = new Float32Array(data.length);
  const n = size - 1;
  const scale = crop ? crop.side / size : 1;
  // Bilinear taps per crop-window column/row, computed once per axis.
  const taps = (origin: number) => {
    const i0 = new Int32Array(size);
    const i1 = new Int32Array(size);
    const w = new Float64Array(size);
    for (let s = 0; s < size; s++) {
      const f = crop ? Math.min(n, Math.max(0, origin + (s + 0.5) * scale - 0.5)) : s;
      const i = Math.floor(f);
      i0[s] = i;
      i1[s] = Math.min(n, i + 1);
      w[s] = f - i;
    }
    return { i0, i1, w };
  };
  const tx = taps(crop?.x0 ?? 0);
  const ty = taps(crop?.y0 ?? 0);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Position in the flipped image (undo the turns), then in the crop window (undo the flips).
      let sy: number;
      let sx: number;
      if (turns === 0) {
        sy = y;
        sx = x;
      } else if (turns === 1) {
        sy = x;
        sx = n - y;
      } else if (turns === 2) {
        sy = n - y;
        sx = n - x;
      } else {
        sy = n - x;
        sx = y;
      }
      if (flipV) sy = n - sy;
      if (flipH) sx = n - sx;
      const dst = (y * size + x) * channels;
      if (!crop) {
        const src = (sy * size + sx) * channels;
        for (let c = 0; c < channels; c++) out[dst + c] = data[src + c] as number;
        continue;
      }
      const wx = tx.w[sx] as number;
      const wy = ty.w[sy] as number;
      const a = ((ty.i0[sy] as number) * size + (tx.i0[sx] as number)) * channels;
      const b = ((ty.i0[sy] as number) * size + (tx.i1[sx] as number)) * channels;
      const c0 = ((ty.i1[sy] as number) * size + (tx.i0[sx] as number)) * channels;
      const d = ((ty.i1[sy] as number) * size + (tx.i1[sx] as number)) * channels;
      for (let c = 0; c < channels; c++) {
        const top = (data[a + c] as number) * (1 - wx) + (data[b + c] as number) * wx;
        const bottom = (data[c0 + c] as number) * (1 - wx) + (data[d + c] as number) * wx;
        out[dst + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
}

/**
 * adjustBrightnessContrast then addGaussianNoise in one pass (no blur between them): the same
 * values, float32-rounded between the steps as the two ops store them, and the same draws.
 */
export function brightnessContrastNoise(
  data: Float32Array,
  size: number,
  channels: number,
  brightnessShift: number,
  contrastFactor: number,
  std: number,
  rng: { next(): number },
): Float32Array {
  checkShape(data, size, channels);
  const shift = channelShifts(data, size, channels, brightnessShift, contrastFactor);
  const table = quantiles();
  const out = new Float32Array(data.length);
  let bits = 0;
  for (let i = 0; i < data.length; i++) {
    const c = i % channels;
    const v = (data[i] as number) * contrastFactor + (shift[c] as number);
    const t = Math.fround(v < 0 ? 0 : v > 255 ? 255 : v);
    let level: number;
    if (i & 1) level = bits & 0xffff;
    else {
      bits = (rng.next() * 4294967296) >>> 0;
      level = bits >>> 16;
    }
    const u = t + std * (table[level] as number);
    out[i] = u < 0 ? 0 : u > 255 ? 255 : u;
  }
  return out;
}
