import os from 'node:os';
import sharp, { type Metadata, type Sharp } from 'sharp';
import { ImageReadError, errorMessage, throwIfAborted } from './errors.ts';
import { type FitSpec, decodeFitted, toRgbFloat } from './fit.ts';

export { IMAGE_EXTENSIONS } from '../constants.ts';

/**
 * Most pixels (width × height) any decode accepts, by default: 100 megapixels. A header may claim
 * any size in a few bytes; sharp refuses to decode past the limit instead of allocating for it.
 * The runner sets its own from IMAGE_MAX_PIXELS; every decode here takes `maxPixels`.
 */
export const IMAGE_MAX_PIXELS = 100_000_000;

function pixelLimit(maxPixels: number | undefined): number {
  const max = maxPixels ?? IMAGE_MAX_PIXELS;
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxPixels must be a positive integer, got ${max}`);
  return max;
}

function pixels(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} megapixels` : `${n} pixels`;
}

function overLimit(width: number, height: number, max: number): string {
  return `${width}×${height} = ${pixels(width * height)} is over the image pixel limit of ${pixels(max)} (IMAGE_MAX_PIXELS)`;
}

/**
 * The one way this package opens an image file for decoding: sharp with the pixel limit, and
 * failOn 'warning' (sharp's default, made explicit) so truncated or corrupt pixel data is an error.
 */
export function openImage(file: string, opts: { maxPixels?: number; autoOrient?: boolean } = {}): Sharp {
  return sharp(file, { failOn: 'warning', autoOrient: opts.autoOrient ?? true, limitInputPixels: pixelLimit(opts.maxPixels) });
}

/** sharp's words for a refused decode, replaced by ones that name the image's size, the limit and its variable. */
/** libvips' words for a file it cannot even open, told plainly ("Input file has corrupt header:" ends in nothing). */
function openReason(message: string): string {
  if (/unsupported image format/i.test(message)) return 'not an image sharp can read (unsupported format, empty or corrupt file)';
  if (/corrupt header/i.test(message)) return 'the file header is damaged (a truncated or corrupt image)';
  return message;
}

async function decodeReason(file: string, err: unknown, max: number): Promise<string> {
  const message = errorMessage(err);
  // failOn: 'warning' turns libjpeg/libpng's "premature end of data" into this generic text.
  if (/Warning treated as error due to failOn/i.test(message)) return 'the image data ends early or is damaged (truncated or corrupt file)';
  if (!/exceeds pixel limit/i.test(message)) return openReason(message);
  // Reading the header allocates nothing, whatever size it claims.
  const meta = await sharp(file, { limitInputPixels: false }).metadata().catch(() => null);
  return meta?.width && meta.height ? overLimit(meta.width, meta.height, max) : `the image is over the image pixel limit of ${pixels(max)} (IMAGE_MAX_PIXELS)`;
}

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
  /** Refuse images of more pixels than this (default IMAGE_MAX_PIXELS). */
  maxPixels?: number;
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
  const max = pixelLimit(opts.maxPixels);
  try {
    const image = openImage(file, { maxPixels: max });
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
    throw new ImageReadError(file, await decodeReason(file, err, max), { cause: err });
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
  /** Refuse images of more pixels than this (default IMAGE_MAX_PIXELS). */
  maxPixels?: number;
}

/**
 * A small preview for the UI: fits inside px×px keeping the aspect ratio, never enlarges.
 * Returns the encoded bytes (PNG or JPEG as asked; content type `image/png` / `image/jpeg`).
 */
export async function thumbnail(file: string, px: number, opts: ThumbnailOptions = {}): Promise<Buffer> {
  if (!Number.isInteger(px) || px < 1) throw new RangeError(`thumbnail: px must be a positive integer, got ${px}`);
  const max = pixelLimit(opts.maxPixels);
  try {
    const pipeline = openImage(file, { maxPixels: max })
      .resize(px, px, { fit: 'inside', withoutEnlargement: true })
      .flatten({ background: BLACK })
      .toColourspace('srgb');
    return opts.format === 'png'
      ? await pipeline.png({ compressionLevel: 6 }).toBuffer()
      : await pipeline.jpeg({ quality: opts.quality ?? 80 }).toBuffer();
  } catch (err) {
    throw new ImageReadError(file, await decodeReason(file, err, max), { cause: err });
  }
}

export interface ImageHeader {
  width: number;
  height: number;
  channels: number;
  depth: string;
  format: string;
}

/**
 * Cheap check: parses only the header (no pixel decode). Throws ImageReadError if it is not an
 * image, or if the header claims more than `maxPixels` (default IMAGE_MAX_PIXELS).
 */
export async function readImageHeader(file: string, opts: { maxPixels?: number } = {}): Promise<ImageHeader> {
  const max = pixelLimit(opts.maxPixels);
  try {
    // No pixel limit on the header read itself (it allocates nothing): the check below names the sizes.
    const meta = await sharp(file, { limitInputPixels: false }).metadata();
    if (!meta.width || !meta.height) throw new Error('no dimensions in header');
    if (meta.width * meta.height > max) throw new Error(overLimit(meta.width, meta.height, max));
    return {
      width: meta.width,
      height: meta.height,
      channels: meta.channels ?? 0,
      depth: meta.depth ?? 'unknown',
      format: meta.format ?? 'unknown',
    };
  } catch (err) {
    throw new ImageReadError(file, openReason(errorMessage(err)), { cause: err });
  }
}

/**
 * Full check: the header, then every pixel decoded (shrunk on load where the format allows, which
 * still reads all the compressed data), with the same strictness as training's decode. Finds what
 * a header check cannot: truncated or corrupt pixel data. Throws ImageReadError naming the file.
 */
export async function checkImageDecodes(file: string, opts: { maxPixels?: number } = {}): Promise<ImageHeader> {
  const header = await readImageHeader(file, opts);
  const max = pixelLimit(opts.maxPixels);
  try {
    const image = openImage(file, { maxPixels: max, autoOrient: false });
    // Small images decode as they are (a resize costs more than it saves); large ones shrink on
    // load where the format allows (JPEG, WebP), so the check never holds a full-size copy.
    const pipeline = header.width * header.height <= CHECK_FULL_PIXELS ? image : image.resize(CHECK_SIZE, CHECK_SIZE, { fit: 'inside', kernel: 'nearest' });
    await pipeline.raw().toBuffer();
  } catch (err) {
    throw new ImageReadError(file, await decodeReason(file, err, max), { cause: err });
  }
  return header;
}

/** The check's decode size for large images: small, so JPEG's shrink-on-load does the least work. */
const CHECK_SIZE = 64;
/** Images up to this many pixels are checked by a plain decode (≤ 4 MB of pixels each). */
const CHECK_FULL_PIXELS = 1_000_000;
