/**
 * models.predict as the web server runs it: through the real runner's tRPC (its prediction worker holds TF.js;
 * this process's createPredictor does not), a real exported model and real images. Per-file errors come back named
 * by the user's file; the runner's full queue is TOO_MANY_REQUESTS naming PREDICT_MAX_QUEUE; too many images are
 * refused before anything crosses the wire; a runner that is down, or silent past PREDICT_TIMEOUT_MS, is
 * SERVICE_UNAVAILABLE saying so — never a hang.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { TRPCError } from '@trpc/server';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../runner/test/model-fixture.ts';
import { createPredictor } from '../server/predict.ts';
import { trpcPredictTransport } from '../server/predict-transport.ts';
import { FakeRunnerControl, makeCaller, memoryDb, tempDir } from './helpers.ts';
import { type RunnerPredictor, startRunnerPredictor } from './runner-predictor.ts';

const LIMITS = { maxQueue: 1, maxImages: 3, maxImageBytes: 1024 * 1024, maxModels: 2, maxPixels: 100_000_000 };

async function noisyPng(seed: number, size = 64): Promise<string> {
  const raw = randomBytes(size * size * 3);
  raw[0] = seed & 0xff;
  return (await sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer()).toString('base64');
}

const db = await memoryDb();
const modelsDir = tempDir('df-web-models-');
let predictor: RunnerPredictor;
let modelId: string;

beforeAll(async () => {
  await writeTinyModel(join(modelsDir, 'tiny'), { inputSize: 64, filters: 8 });
  modelId = (await db.repo.models.create({ name: 'tiny', dir: join(modelsDir, 'tiny'), labels: ['good', 'scratch'], inputSize: 64 })).id;
  predictor = await startRunnerPredictor(LIMITS, modelsDir);
}, 120_000);

afterAll(async () => {
  await predictor?.close();
  await db.close();
});

const callerWith = (predict: RunnerPredictor['predict']) =>
  makeCaller(db, new FakeRunnerControl(), { paths: { dataDir: tempDir(), datasetsRoot: tempDir(), modelsDir }, predict });

describe('models.predict through the runner', () => {
  it('answers each file with its prediction or its own error, by the user file name', async () => {
    const caller = callerWith(predictor.predict);
    const out = await caller.models.predict({
      modelId,
      images: [
        { name: 'ok.png', dataBase64: `data:image/png;base64,${await noisyPng(1)}` },
        { name: 'broken.png', dataBase64: Buffer.from('not a png').toString('base64') },
        { name: 'huge.png', dataBase64: Buffer.alloc(LIMITS.maxImageBytes + 1, 7).toString('base64') },
      ],
    });
    expect(out.predictions[0]).toMatchObject({ name: 'ok.png', label: expect.stringMatching(/good|scratch/), scores: expect.any(Object) });
    expect(out.predictions[1]).toMatchObject({ name: 'broken.png', error: expect.stringMatching(/unsupported image format|not an image|Input buffer/i) });
    expect(out.predictions[2]).toMatchObject({ name: 'huge.png', error: expect.stringMatching(/limit is 1\.0 MiB \(PREDICT_MAX_IMAGE_BYTES\)/) });
  }, 60_000);

  it("the runner's full queue is TOO_MANY_REQUESTS naming PREDICT_MAX_QUEUE; too many images are refused here", async () => {
    const caller = callerWith(predictor.predict);
    // Large images (under PREDICT_MAX_IMAGE_BYTES, decoding takes a while): four requests at once cannot all fit a queue of one.
    const image = { name: 'a.png', dataBase64: await noisyPng(2, 500) };
    const outcomes = await Promise.all(
      [0, 1, 2, 3].map(() => caller.models.predict({ modelId, images: [image, image, image] }).catch((e: unknown) => e)),
    );
    const busy = outcomes.filter((o) => o instanceof TRPCError);
    expect(busy.length).toBeGreaterThan(0);
    for (const b of busy) expect(b).toMatchObject({ code: 'TOO_MANY_REQUESTS', message: expect.stringMatching(/PREDICT_MAX_QUEUE=1/) });
    expect(outcomes.some((o) => !(o instanceof TRPCError) && (o as { predictions: unknown[] }).predictions.length === 3)).toBe(true);
    const many = await caller.models.predict({ modelId, images: [image, image, image, image] }).catch((e: unknown) => e);
    expect(many).toMatchObject({ code: 'BAD_REQUEST', message: expect.stringMatching(/4 images sent; the limit is 3 per request \(PREDICT_MAX_IMAGES\)/) });
  }, 60_000);

  it('a runner that is down, or silent past PREDICT_TIMEOUT_MS, is SERVICE_UNAVAILABLE saying so', async () => {
    const image = { name: 'a.png', dataBase64: await noisyPng(3) };
    // Down: a port nobody listens on (the runner child restarting looks the same).
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    const down = createPredictor({
      transport: trpcPredictTransport({ url: `http://127.0.0.1:${deadPort}`, token: 'x'.repeat(20), timeoutMs: 60_000 }),
      modelsDir,
      limits: LIMITS,
    });
    const refused = await callerWith(down.predict).models.predict({ modelId, images: [image] }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/the runner is not reachable \(.*\); try again/) });
    // Silent: accepts the request and never answers.
    const silent: Server = createServer(() => {});
    await new Promise<void>((ok) => silent.listen(0, '127.0.0.1', ok));
    try {
      const hanging = createPredictor({
        transport: trpcPredictTransport({ url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, token: 'x'.repeat(20), timeoutMs: 300 }),
        modelsDir,
        limits: LIMITS,
      });
      const timedOut = await callerWith(hanging.predict).models.predict({ modelId, images: [image] }).catch((e: unknown) => e);
      expect(timedOut).toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/did not answer within 0\.3 s \(PREDICT_TIMEOUT_MS\)/) });
    } finally {
      silent.closeAllConnections();
      await new Promise((ok) => silent.close(ok));
    }
  }, 60_000);
});
