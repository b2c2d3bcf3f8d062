/**
 * The images of a prediction API request: raw image bytes (Content-Type image/* or application/octet-stream), or
 * multipart/form-data with one or more files (field `image`; any file field counts). Limits are the prediction
 * worker's: a raw body over PREDICT_MAX_IMAGE_BYTES, or a multipart body over PREDICT_MAX_IMAGES ×
 * PREDICT_MAX_IMAGE_BYTES, is refused with 413 before it is read to the end; more than PREDICT_MAX_IMAGES files is
 * a 400; a multipart file over PREDICT_MAX_IMAGE_BYTES gets its own error in the answer (predict.ts).
 */
import type { IncomingMessage } from 'node:http';
import type { PredictImage } from '../trpc.ts';

export class BodyError extends Error {
  constructor(
    readonly status: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
    this.name = 'BodyError';
  }
}

export interface BodyLimits {
  /** PREDICT_MAX_IMAGES. */
  maxImages: number;
  /** PREDICT_MAX_IMAGE_BYTES. */
  maxImageBytes: number;
}

const MiB = 1024 ** 2;
const mib = (n: number) => `${(n / MiB).toFixed(1)} MiB`;
/** Multipart framing (boundaries, part headers, small fields) allowed on top of the images themselves. */
const MULTIPART_SLACK = 64 * 1024;

const EXTENSIONS: Record<string, string> = {
  'image/png': '.png',
  'image/jpeg': '.jpg',
  'image/jpg': '.jpg',
  'image/gif': '.gif',
  'image/webp': '.webp',
  'image/bmp': '.bmp',
  'image/tiff': '.tif',
};

/** Reads the body, refusing it (413) as soon as it passes `max` bytes. */
async function readLimited(req: IncomingMessage, max: number, tooLarge: () => string): Promise<Buffer<ArrayBuffer>> {
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > max) throw new BodyError(413, tooLarge());
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > max) throw new BodyError(413, tooLarge());
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

export async function readPredictImages(req: IncomingMessage, limits: BodyLimits): Promise<PredictImage[]> {
  const contentType = (req.headers['content-type'] ?? '').toLowerCase();
  const mediaType = contentType.split(';')[0]?.trim() ?? '';
  if (mediaType.startsWith('image/') || mediaType === 'application/octet-stream') {
    const data = await readLimited(
      req,
      limits.maxImageBytes,
      () => `the image is over the limit of ${mib(limits.maxImageBytes)} (PREDICT_MAX_IMAGE_BYTES)`,
    );
    if (data.length === 0) {
      throw new BodyError(400, 'the request body is empty: send the image bytes (e.g. Content-Type: image/png) or multipart/form-data with image files');
    }
    return [{ name: `image${EXTENSIONS[mediaType] ?? ''}`, data }];
  }
  if (mediaType === 'multipart/form-data') {
    const max = limits.maxImages * limits.maxImageBytes + MULTIPART_SLACK;
    const body = await readLimited(
      req,
      max,
      () =>
        `the request body is over ${mib(max)}: at most PREDICT_MAX_IMAGES (${limits.maxImages}) images of PREDICT_MAX_IMAGE_BYTES (${mib(limits.maxImageBytes)}) each`,
    );
    let form: FormData;
    try {
      form = await new Response(body, { headers: { 'content-type': req.headers['content-type'] ?? '' } }).formData();
    } catch (err) {
      throw new BodyError(400, `the multipart/form-data body cannot be read: ${err instanceof Error ? err.message : String(err)}`);
    }
    const files: File[] = [];
    for (const [, value] of form) if (typeof value !== 'string') files.push(value);
    if (files.length === 0) throw new BodyError(400, 'no image in the form: send one or more files in the field "image"');
    if (files.length > limits.maxImages) {
      throw new BodyError(400, `${files.length} images sent; the limit is ${limits.maxImages} per request (PREDICT_MAX_IMAGES)`);
    }
    return Promise.all(
      files.map(async (f, k) => ({ name: f.name || `image-${k + 1}${EXTENSIONS[f.type] ?? ''}`, data: Buffer.from(await f.arrayBuffer()) })),
    );
  }
  throw new BodyError(
    415,
    `unsupported Content-Type "${mediaType || '(none)'}": send multipart/form-data with image files, or the image bytes with Content-Type image/* (or application/octet-stream)`,
  );
}
