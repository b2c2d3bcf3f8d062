import { seededRandom } from '../../src/model/train.ts';

export const TEXTURE_CLASSES = ['crazing', 'inclusion', 'patches', 'pitted', 'scratches', 'good'] as const;

/**
 * Small NEU-like grayscale textures made in memory (RGB 0..255, HWC): a noisy steel background with
 * class-specific marks at random places, sizes and orientations, so a classifier must look at texture.
 */
export function makeTextureImages(options: { perClass: number; size: number; seed?: number; classes?: number }) {
  const { perClass, size } = options;
  const k = options.classes ?? TEXTURE_CLASSES.length;
  const rand = seededRandom(options.seed ?? 1);
  const images: Float32Array[] = [];
  const labels: number[] = [];
  for (let c = 0; c < k; c++) {
    for (let i = 0; i < perClass; i++) {
      const g = new Float32Array(size * size);
      const base = 110 + rand() * 40;
      for (let p = 0; p < g.length; p++) g[p] = base + (rand() - 0.5) * 30;
      const stamp = (x: number, y: number, v: number) => {
        const xi = Math.round(x);
        const yi = Math.round(y);
        if (xi >= 0 && yi >= 0 && xi < size && yi < size) g[yi * size + xi] = v;
      };
      const line = (len: number, v: number, width: number) => {
        const a = rand() * Math.PI;
        const x0 = rand() * size;
        const y0 = rand() * size;
        for (let t = 0; t < len; t++)
          for (let w = 0; w < width; w++) stamp(x0 + Math.cos(a) * t - Math.sin(a) * w, y0 + Math.sin(a) * t + Math.cos(a) * w, v);
      };
      const blob = (r: number, v: number) => {
        const cx = rand() * size;
        const cy = rand() * size;
        for (let y = -r; y <= r; y++) for (let x = -r; x <= r; x++) if (x * x + y * y <= r * r) stamp(cx + x, cy + y, v);
      };
      const name = TEXTURE_CLASSES[c];
      const s = size / 64;
      if (name === 'crazing') for (let j = 0; j < 14; j++) line(6 * s + rand() * 8 * s, 60, 1);
      else if (name === 'inclusion') for (let j = 0; j < 3; j++) line(20 * s + rand() * 20 * s, 40, Math.max(2, Math.round(3 * s)));
      else if (name === 'patches') for (let j = 0; j < 3; j++) blob(Math.round(6 * s + rand() * 5 * s), 200);
      else if (name === 'pitted') for (let j = 0; j < 30; j++) blob(Math.max(1, Math.round(s)), 30);
      else if (name === 'scratches') for (let j = 0; j < 2; j++) line(size, 230, 1);
      const rgb = new Float32Array(size * size * 3);
      for (let p = 0; p < g.length; p++) {
        const v = Math.max(0, Math.min(255, g[p] as number));
        rgb[p * 3] = v;
        rgb[p * 3 + 1] = v;
        rgb[p * 3 + 2] = v;
      }
      images.push(rgb);
      labels.push(c);
    }
  }
  return { images, labels, classes: TEXTURE_CLASSES.slice(0, k) as string[] };
}

/** Stratified split of indices: every `every`-th item of each class goes to the held-out set. */
export function splitIndices(labels: number[], every = 4): { train: number[]; test: number[] } {
  const train: number[] = [];
  const test: number[] = [];
  const seen = new Map<number, number>();
  labels.forEach((l, i) => {
    const k = seen.get(l) ?? 0;
    seen.set(l, k + 1);
    (k % every === every - 1 ? test : train).push(i);
  });
  return { train, test };
}
