/**
 * Predictions and ONNX backbone inspection in the runner (the web server holds no TF.js / ONNX Runtime), over the
 * runner's real tRPC with its token, a real exported model and real images decoded by sharp: every file gets its
 * prediction or its own error named by the user's file name; limits refuse naming their variable; a model folder
 * outside DATA_DIR/models is refused by name; `ensureModel` runs before the folder is read; the heat map of a
 * spatial head lies under the defect; the runner's event loop keeps answering while a prediction computes.
 */
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resnetFixtureOnnx } from '@defectflow/engine/testing';
import { TRPCClientError } from '@trpc/client';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunnerTrpc, type RunnerTrpc } from '../src/client.ts';
import {
  createPredictQueue,
  handlePredictRequest,
  PredictBusyError,
  type PredictDeps,
  PredictInputError,
  PredictModelNotFoundError,
  type PredictRequest,
  type PredictResponse,
} from '../src/predict/index.ts';
import type { RunnerServer } from '../src/server.ts';
import { startStubServer, TOKEN, tempDir } from './helpers.ts';
import { writeSpatialModel, writeTinyModel } from './model-fixture.ts';

const LIMITS = { maxQueue: 4, maxImages: 200, maxImageBytes: 5 * 1024 * 1024, maxModels: 2, maxPixels: 100_000_000 };

async function noisyImage(seed: number, format: 'png' | 'jpeg' = 'png', size = 160): Promise<Buffer> {
  const raw = randomBytes(size * size * 3);
  raw[0] = seed & 0xff;
  const image = sharp(raw, { raw: { width: size, height: size, channels: 3 } });
  return format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 90 }).toBuffer();
}

const b64 = (data: Buffer) => data.toString('base64');
/** tRPC's inferred output drops `error?: undefined`; the wire carries a PredictResponse. */
const predict = async (input: PredictRequest) => (await trpc.predict.mutate(input)) as PredictResponse;
const codeOf = (err: unknown) => (err instanceof TRPCClientError ? (err.data as { code?: string } | undefined)?.code : undefined);

const data = tempDir('df-runner-predict-');
const modelsDir = path.join(data.dir, 'models');
let server: RunnerServer;
let trpc: RunnerTrpc;

beforeAll(async () => {
  // A heavier input size so a many-image prediction takes clearly longer than any timer tick.
  await writeTinyModel(path.join(modelsDir, 'tiny'), { inputSize: 192, filters: 24 });
  await writeSpatialModel(path.join(modelsDir, 'spatial'));
  server = await startStubServer(data.dir, { predict: LIMITS });
  trpc = createRunnerTrpc({ url: server.url, token: TOKEN });
  // Warm up: the worker loads TensorFlow.js and the model once.
  await trpc.predict.mutate({ modelId: 'tiny', images: [{ name: 'warm.png', data: b64(await noisyImage(0)) }] });
}, 180_000);

afterAll(async () => {
  await server?.close();
  data.remove();
});

describe('predict on the runner', () => {
  it('needs the runner token', async () => {
    const stranger = createRunnerTrpc({ url: server.url, token: 'not-the-token-0123456789' });
    const err = await stranger.predict.mutate({ modelId: 'tiny', images: [{ name: 'a.png', data: 'AA==' }] }).catch((e: unknown) => e);
    expect(codeOf(err)).toBe('UNAUTHORIZED');
  });

  it('answers every file: predictions for the good ones, its own error for each bad one, by the user file name', async () => {
    const truncated = (await noisyImage(2, 'jpeg')).subarray(0, 3000); // header fine, pixel data cut off
    const { predictions } = await predict({
      modelId: 'tiny',
      images: [
        { name: 'line3-ok.png', data: b64(await noisyImage(1)) },
        { name: 'camera 2 truncated.jpg', data: b64(truncated) },
        { name: 'notes.png', data: b64(Buffer.from('this is not an image')) },
        { name: 'empty.png', data: '' },
        { name: 'big.png', data: b64(Buffer.alloc(LIMITS.maxImageBytes + 1, 1)) },
        { name: 'line3-ok-2.png', data: b64(await noisyImage(3)) },
      ],
    });
    expect(predictions.map((p) => p.name)).toEqual(['line3-ok.png', 'camera 2 truncated.jpg', 'notes.png', 'empty.png', 'big.png', 'line3-ok-2.png']);
    expect(predictions[0]).toMatchObject({ label: expect.stringMatching(/good|scratch/), confidence: expect.any(Number) });
    expect(predictions[5]).toMatchObject({ label: expect.stringMatching(/good|scratch/) });
    expect(predictions[1]?.error).toMatch(/premature end|truncated|corrupt/i);
    expect(predictions[2]?.error).toMatch(/unsupported image format|not an image|Input buffer/i);
    expect(predictions[3]?.error).toBe('the file is empty');
    expect(predictions[4]?.error).toMatch(/the limit is 5\.0 MiB \(PREDICT_MAX_IMAGE_BYTES\)/);
    // Errors speak of the user's files, never of the worker's temp copies.
    for (const p of predictions) expect(p.error ?? '').not.toMatch(/defectflow-predict-|\/tmp\//);
  }, 60_000);

  it('keeps the runner event loop responsive while many images are predicted', async () => {
    const images = [];
    for (let i = 0; i < 32; i++) images.push({ name: `img-${i}.png`, data: b64(await noisyImage(i)) });
    let last = performance.now();
    let maxLag = 0;
    const tick = 10;
    const timer = setInterval(() => {
      const now = performance.now();
      maxLag = Math.max(maxLag, now - last - tick);
      last = now;
    }, tick);
    const started = performance.now();
    const { predictions } = await predict({ modelId: 'tiny', images });
    const took = performance.now() - started;
    clearInterval(timer);
    expect(predictions).toHaveLength(32);
    expect(predictions.every((p) => 'label' in p && ['good', 'scratch'].includes(p.label))).toBe(true);
    // This process is the runner (and the test's client): only scheduling noise and JSON remain on its loop.
    console.log(`predicted 32 images in ${took.toFixed(0)} ms; longest event-loop timer delay ${maxLag.toFixed(1)} ms`);
    expect(maxLag).toBeLessThan(took / 4);
  }, 120_000);

  it('refuses a model folder outside DATA_DIR/models by name, a missing one as NOT_FOUND, and a bad request naming the field', async () => {
    const image = [{ name: 'a.png', data: b64(await noisyImage(4)) }];
    symlinkSync(path.dirname(data.dir), path.join(modelsDir, 'escape'));
    for (const [modelId, modelDir] of [['../../etc', undefined], ['m1', '/etc'], ['m2', '../runs'], ['m3', 'escape'], ['m4', '.']] as const) {
      const err = await trpc.predict.mutate({ modelId, modelDir, images: image }).catch((e: unknown) => e);
      expect(codeOf(err), `${modelId} ${modelDir}`).toBe('BAD_REQUEST');
      expect((err as Error).message).toMatch(new RegExp(`^model ${modelId.replace(/\./g, '\\.')}: `));
    }
    const missing = await trpc.predict.mutate({ modelId: 'gone', images: image }).catch((e: unknown) => e);
    expect(codeOf(missing)).toBe('NOT_FOUND');
    expect((missing as Error).message).toMatch(/model gone: no folder gone/);
    const bad = await trpc.predict.mutate({ modelId: 'tiny', images: [] }).catch((e: unknown) => e);
    expect(codeOf(bad)).toBe('BAD_REQUEST');
    expect((bad as Error).message).toMatch(/images: send at least one image/);
  });

  it('lists backbone cut points and measures throughput with ONNX Runtime, confined to DATA_DIR/backbones', async () => {
    mkdirSync(path.join(data.dir, 'backbones'), { recursive: true });
    writeFileSync(path.join(data.dir, 'backbones', 'resnet.onnx'), resnetFixtureOnnx({ size: 64 }));
    const info = await trpc.backbones.cutPoints.query({ name: 'resnet.onnx' });
    expect(info.cutPoints.length).toBeGreaterThan(0);
    expect(info.cutPoints[0]).toMatchObject({ name: expect.any(String), label: expect.stringContaining('→'), featureShape: expect.any(Array) });
    expect(info).toMatchObject({ name: 'resnet.onnx', params: expect.any(Number), settings: { inputSize: 64 } });
    const measured = await trpc.backbones.measure.mutate({ name: 'resnet.onnx', images: 8 });
    expect(measured.imagesPerSecond).toBeGreaterThan(0);
    for (const name of ['../models/tiny/model.json', '..onnx/../x.onnx']) {
      const err = await trpc.backbones.cutPoints.query({ name }).catch((e: unknown) => e);
      expect(codeOf(err)).toBe('BAD_REQUEST');
      expect((err as Error).message).toMatch(/is not valid/);
    }
    const none = await trpc.backbones.cutPoints.query({ name: 'absent.onnx' }).catch((e: unknown) => e);
    expect(codeOf(none)).toBe('NOT_FOUND');
  }, 60_000);

  it('heat map: lies where the defect is for a spatial head; a model without one says there is no map', async () => {
    const patchImage = async (x: number, y: number) => {
      const raw = Buffer.alloc(32 * 32 * 3, 10);
      for (let r = y; r < y + 8; r++) raw.fill(255, (r * 32 + x) * 3, (r * 32 + x + 8) * 3);
      return sharp(raw, { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
    };
    const { predictions: [p] } = await predict({ modelId: 'spatial', images: [{ name: 'patch.png', data: b64(await patchImage(16, 8)) }], heatmap: true });
    expect(p).toMatchObject({ name: 'patch.png', label: 'scratch' });
    const map = p?.error === undefined ? p?.heatmap : undefined;
    if (!map || !('values' in map)) throw new Error(`no heat map: ${JSON.stringify(p)}`);
    expect(map).toMatchObject({ label: 'scratch', width: 8, height: 8, fit: 'stretch' });
    const at = (cx: number, cy: number) => map.values[cy * 8 + cx] as number;
    for (const [cx, cy] of [[4, 2], [5, 2], [4, 3], [5, 3]] as const) expect(at(cx, cy)).toBeCloseTo(1, 2);
    const { predictions: [plain] } = await predict({ modelId: 'spatial', images: [{ name: 'patch.png', data: b64(await patchImage(0, 0)) }] });
    expect(plain && 'heatmap' in plain).toBe(false);
    const { predictions: [tiny] } = await predict({ modelId: 'tiny', images: [{ name: 'x.png', data: b64(await noisyImage(6)) }], heatmap: true });
    expect(tiny?.error === undefined && tiny?.heatmap).toEqual({ unavailable: 'only a model with the spatial head has a map of where it looked' });
  }, 60_000);
});

describe('handlePredictRequest (what the cluster transport calls)', () => {
  it('busy past PREDICT_MAX_QUEUE, too many images past PREDICT_MAX_IMAGES; ensureModel fetches the folder first', async () => {
    const queue = createPredictQueue({ maxQueue: 1, maxModels: 1, maxPixels: LIMITS.maxPixels });
    const fetched: string[] = [];
    const deps: PredictDeps = {
      modelsDir,
      queue,
      limits: { maxImages: 2, maxImageBytes: LIMITS.maxImageBytes },
      ensureModel: async (modelId, dir) => {
        fetched.push(modelId);
        if (modelId === 'fetched') cpSync(path.join(modelsDir, 'tiny'), dir, { recursive: true });
      },
    };
    try {
      const image = { name: 'a.png', data: b64(await noisyImage(4)) };
      const first = handlePredictRequest({ modelId: 'fetched', images: [image] }, deps);
      // The first request is past its ensureModel and queued once this one reaches the queue.
      await new Promise((r) => setTimeout(r, 200));
      const busy = await handlePredictRequest({ modelId: 'tiny', images: [image] }, deps).catch((e: unknown) => e);
      expect(busy).toBeInstanceOf(PredictBusyError);
      expect((busy as Error).message).toMatch(/busy: 1 requests are waiting or running \(limit PREDICT_MAX_QUEUE=1\)/);
      const many = await handlePredictRequest({ modelId: 'tiny', images: [image, image, image] }, deps).catch((e: unknown) => e);
      expect(many).toBeInstanceOf(PredictInputError);
      expect((many as Error).message).toMatch(/3 images sent; the limit is 2 per request \(PREDICT_MAX_IMAGES\)/);
      expect((await first).predictions[0]).toMatchObject({ name: 'a.png', label: expect.stringMatching(/good|scratch/) });
      expect(fetched).toEqual(['fetched', 'tiny']);
      const notThere = await handlePredictRequest({ modelId: 'never', images: [image] }, deps).catch((e: unknown) => e);
      expect(notThere).toBeInstanceOf(PredictModelNotFoundError);
      expect(queue.pending).toBe(0);
    } finally {
      await queue.close();
    }
  }, 120_000);
});
