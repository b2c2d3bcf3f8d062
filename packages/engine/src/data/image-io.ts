import os from 'node:os';
import sharp, { type Metadata } from 'sharp';
import { ImageReadError, errorMessage, throwIfAborted } from './errors.ts';
import { type FitSpec, decodeFitted, toRgbFloat } from './fit.ts';

/** File extensions the dataset loaders treat as images (lower case, with dot). */
export const IMAGE_EXTENSIONS: readonly string[] = ['.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp'];

export interface ReadImageOptions {
  /**
   * How a non-square image becomes size×size. Default 'fill' (stretch): a defect near the border
   * must never be cropped away, and the same distortion applies at train and predict time.
   * 'cover' crops the centre (keeps aspect), 'contain' letterboxes on `background`.
   */
  fit?: 'fill' | 'cover' | 'contain';
  /**
   * The backbone's aspect handling (fit.ts). 'letterbox' and 'tiles' take over from `fit`;
   * tiles come back to back in `data` (see FloatImage.tiles). Absent or 'stretch': `fit` applies.
   */
  layout?: FitSpec;
  /** Colour that transparent pixels (and letterbox bars) are flattened onto. Default black. */
  background?: { r: number; g: number; b: number };
  /**
   * Report the file's own size/format in `source` (default true). Training passes false: the
   * extra metadata read costs ≈ 15 % of a decode, and nothing there uses it.
   */
  describeSource?: boolean;
}

export interface FloatImage {
  /** size*size*3 floats, RGB interleaved (HWC), values 0..255 (tiles × that with layout 'tiles'). */
  data: Float32Array;
  /** Square tiles back to back in `data`; absent means 1. */
  tiles?: number;
  width: number;
  height: number;
  channels: 3;
  /** The file as stored, before normalisation; null when `describeSource` was false. */
  source: { width: number; height: number; channels: number; depth: string; format: string } | null;
}

const BLACK = { r: 0, g: 0, b: 0 };

function describeMeta(meta: Metadata): NonNullable<FloatImage['source']> {
  return {
    width: meta.autoOrient?.width ?? meta.width ?? 0,
    height: meta.autoOrient?.height ?? meta.height ?? 0,
    channels: meta.channels ?? 0,
    depth: meta.depth ?? 'unknown',
    format: meta.format ?? 'unknown',
  };
}

/**
 * Decodes any supported image (gray, gray+alpha, RGB, RGBA, palette, 8/16-bit, CMYK, EXIF-rotated)
 * into a size×size×3 float RGB array in 0..255. Throws ImageReadError naming the file on failure.
 */
export async function readImageAsFloat(file: string, size: number, opts: ReadImageOptions = {}): Promise<FloatImage> {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`readImageAsFloat: size must be a positive integer, got ${size}`);
  const background = opts.background ?? BLACK;
  try {
    // failOn 'warning' (sharp's default, made explicit) rejects truncated or corrupt pixel data.
    const image = sharp(file, { failOn: 'warning', autoOrient: true });
    const meta = opts.describeSource === false ? null : await image.metadata();
    if (opts.layout && opts.layout.fit !== 'stretch') {
      const fitted = await decodeFitted(image.flatten({ background }), size, opts.layout);
      return { data: fitted.data, tiles: fitted.tiles, width: size, height: size, channels: 3, source: meta && describeMeta(meta) };
    }
    const { data, info } = await image
      .flatten({ background })
      .resize(size, size, { fit: opts.fit ?? 'fill', background, kernel: 'lanczos3' })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const out = toRgbFloat(data, info.channels, size * size);
    return {
      data: out,
      width: size,
      height: size,
      channels: 3,
      source: meta && describeMeta(meta),
    };
  } catch (err) {
    throw new ImageReadError(file, errorMessage(err), { cause: err });
  }
}

export interface BatchOptions extends ReadImageOptions {
  /** Images decoded at once. Default: CPU count, capped at 4 (libuv's default thread pool size). */
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface BatchImage extends FloatImage {
  /** Position of this image in the input `paths` array. */
  index: number;
  path: string;
}

export interface BatchResult {
  /** Successfully decoded images, in input order. */
  images: BatchImage[];
  failures: { path: string; reason: string }[];
}

export function defaultConcurrency(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

/**
 * Decodes many images with a bounded number in flight. A bad file becomes a failure entry,
 * never an exception; only an abort (signal) rejects. Each decode runs on sharp's libuv worker
 * pool, so `concurrency` images in parallel use the cores without extra vips threads per image.
 */
export async function readImagesBatch(paths: readonly string[], size: number, opts: BatchOptions = {}): Promise<BatchResult> {
  const concurrency = Math.max(1, Math.floor(opts.concurrency ?? defaultConcurrency()));
  const slots: (BatchImage | { path: string; reason: string } | undefined)[] = new Array(paths.length);
  let nextIndex = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      throwIfAborted(opts.signal);
      const index = nextIndex++;
      if (index >= paths.length) return;
      const file = paths[index] as string;
      try {
        const image = await readImageAsFloat(file, size, opts);
        slots[index] = { ...image, index, path: file };
      } catch (err) {
        slots[index] = { path: file, reason: err instanceof ImageReadError ? err.reason : errorMessage(err) };
      }
      done++;
      opts.onProgress?.(done, paths.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, paths.length) }, worker));
  throwIfAborted(opts.signal);
  const images: BatchImage[] = [];
  const failures: { path: string; reason: string }[] = [];
  for (const slot of slots) {
    if (!slot) continue;
    if ('data' in slot) images.push(slot);
    else failures.push(slot);
  }
  return { images, failures };
}

export interface ThumbnailOptions {
  format?: 'png' | 'jpeg';
  /** JPEG quality 1..100 (default 80). */
  quality?: number;
}

/**
 * A small preview for the UI: fits inside px×px keeping the aspect ratio, never enlarges.
 * Returns the encoded bytes (PNG or JPEG as asked; content type `image/png` / `image/jpeg`).
 */
export async function thumbnail(file: string, px: number, opts: ThumbnailOptions = {}): Promise<Buffer> {
  if (!Number.isInteger(px) || px < 1) throw new RangeError(`thumbnail: px must be a positive integer, got ${px}`);
  try {
    const pipeline = sharp(file, { failOn: 'warning', autoOrient: true })
      .resize(px, px, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: BLACK })
      .toColourspace('srgb');
    return opts.format === 'png'
      ? await pipeline.png({ compressionLevel: 6 }).toBuffer()
      : await pipeline.jpeg({ quality: opts.quality ?? 80 }).toBuffer();
  } catch (err) {
    throw new ImageReadError(file, errorMessage(err), { cause: err });
  }
}

export interface ImageHeader {
  width: number;
  height: number;
  channels: number;
  depth: string;
  format: string;
}

/** Cheap check: parses only the header (no pixel decode). Throws ImageReadError if it is not an image. */
export async function readImageHeader(file: string): Promise<ImageHeader> {
  try {
    const meta = await sharp(file).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions in header');
    return {
      width: meta.width,
      height: meta.height,
      channels: meta.channels ?? 0,
      depth: meta.depth ?? 'unknown',
      format: meta.format ?? 'unknown',
    };
  } catch (err) {
    throw new ImageReadError(file, errorMessage(err), { cause: err });
  }
}
