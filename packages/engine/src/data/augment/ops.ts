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
  checkShape(data, size, channels);
  const out = new Float32Array(data.length);
  const scale = side / size;
  const max = size - 1;
  for (let y = 0; y < size; y++) {
    // Pixel-centre mapping keeps the identity crop exact.
    const fy = Math.min(max, Math.max(0, y0 + (y + 0.5) * scale - 0.5));
    const iy = Math.floor(fy);
    const iy1 = Math.min(max, iy + 1);
    const wy = fy - iy;
    for (let x = 0; x < size; x++) {
      const fx = Math.min(max, Math.max(0, x0 + (x + 0.5) * scale - 0.5));
      const ix = Math.floor(fx);
      const ix1 = Math.min(max, ix + 1);
      const wx = fx - ix;
      const a = (iy * size + ix) * channels;
      const b = (iy * size + ix1) * channels;
      const c0 = (iy1 * size + ix) * channels;
      const d = (iy1 * size + ix1) * channels;
      const dst = (y * size + x) * channels;
      for (let c = 0; c < channels; c++) {
        const top = (data[a + c] as number) * (1 - wx) + (data[b + c] as number) * wx;
        const bottom = (data[c0 + c] as number) * (1 - wx) + (data[d + c] as number) * wx;
        out[dst + c] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
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
  const means = new Float64Array(channels);
  for (let i = 0; i < data.length; i++) means[i % channels] = (means[i % channels] as number) + (data[i] as number);
  for (let c = 0; c < channels; c++) means[c] = (means[c] as number) / (size * size);
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const m = means[i % channels] as number;
    const v = ((data[i] as number) - m) * contrastFactor + m + brightnessShift;
    out[i] = v < 0 ? 0 : Math.min(v, 255);
  }
  return out;
}

/** Adds N(0, std²) noise per value (std in 0..255 units), clamped to 0..255. */
export function addGaussianNoise(data: Float32Array, std: number, normal: () => number): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = (data[i] as number) + std * normal();
    out[i] = v < 0 ? 0 : Math.min(v, 255);
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
