import { augmentImage } from './augment/augment.ts';
import type { AugmentPolicy } from './augment/policy.ts';
import { ImageReadError } from './errors.ts';
import { type ReadImageOptions, readImagesBatch } from './image-io.ts';
import { createRng, hashSeed } from './rng.ts';

export interface ImageSourceOptions extends ReadImageOptions {
  /** Apply this augmentation to every image (train split only, by the caller's choice). */
  augment?: AugmentPolicy;
  /** Which augmented view (1..copies): each view draws different random ops for the same image. */
  view?: number;
  /** 'throw' (default): a file that fails to decode rejects load() with ImageReadError naming it.
   *  'blank': it becomes a mid-gray image and is listed in `failures`. */
  onFailure?: 'throw' | 'blank';
  concurrency?: number;
}

/** Loads images on demand in index ranges: the `{ count, load }` shape the feature extractor accepts. */
export interface ImageSourceOnDemand {
  count: number;
  load(start: number, end: number, signal?: AbortSignal): Promise<Float32Array[]>;
  /** Files replaced by blanks so far (onFailure 'blank'). */
  failures: { path: string; reason: string }[];
}

/**
 * A lazily decoded (and optionally augmented) view of a list of image files as size×size×3 floats
 * (0..255). Augmentation is seeded per (policy seed, file path, view), so a range loaded twice,
 * in any order or batch size, gives the same arrays.
 */
export function createImageSource(paths: readonly string[], size: number, options: ImageSourceOptions = {}): ImageSourceOnDemand {
  const failures: { path: string; reason: string }[] = [];
  return {
    count: paths.length,
    failures,
    async load(start, end, signal) {
      const slice = paths.slice(start, end);
      const { images, failures: bad } = await readImagesBatch(slice, size, { ...options, signal });
      if (bad.length > 0 && options.onFailure !== 'blank') {
        const first = bad[0] as { path: string; reason: string };
        throw new ImageReadError(first.path, bad.length > 1 ? `${first.reason} (and ${bad.length - 1} more)` : first.reason);
      }
      failures.push(...bad);
      const out: Float32Array[] = slice.map(() => new Float32Array(size * size * 3).fill(127.5));
      for (const img of images) out[img.index] = img.data;
      if (options.augment) {
        const policy = options.augment;
        const view = options.view ?? 1;
        return out.map((data, i) => augmentImage(data, size, 3, policy, createRng(hashSeed(policy.seed, slice[i] as string, view))));
      }
      return out;
    },
  };
}
