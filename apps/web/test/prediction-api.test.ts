/**
 * The prediction API over real HTTP (AUTH on, PGlite in a temp dir, API tokens, the real prediction worker with
 * exported TF.js models, images made and decoded by sharp): multipart and raw bodies → the JSON answer; 401 without
 * a token, 403 for a viewer's; the product line endpoint follows promote and rollback; every prediction is a log row
 * and low-confidence ones keep their image (served, thumbnailed, to a viewer); limits answer with their variable;
 * 429 + Retry-After past PREDICT_RATE_PER_MIN; the OpenAPI description parses and names both paths.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../server/auth/principal.ts';
import { Client, startTestServer, type TestServer } from './auth-server.ts';
import { writeTinyModel } from '../../runner/test/model-fixture.ts';
import { type RunnerPredictor, startRunnerPredictor } from './runner-predictor.ts';

const LIMITS = { maxQueue: 8, maxImages: 3, maxImageBytes: 256 * 1024, maxModels: 3, maxPixels: 100_000_000 };

async function noisyPng(seed: number, size = 64): Promise<Buffer> {
  const raw = randomBytes(size * size * 3);
  raw[0] = seed & 0xff;
  return sharp(raw, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
}

async function noisyJpeg(seed: number, size = 64): Promise<Buffer> {
  return sharp(await noisyPng(seed, size)).jpeg({ quality: 90 }).toBuffer();
}

/** A multipart/form-data body as a client library would send it. */
async function multipart(files: Array<{ name: string; data: Buffer; type?: string }>, field = 'image') {
  const form = new FormData();
  for (const f of files) form.append(field, new Blob([new Uint8Array(f.data)], { type: f.type ?? 'image/png' }), f.name);
  const req = new Request('http://x/', { method: 'POST', body: form });
  return { body: Buffer.from(await req.arrayBuffer()), contentType: req.headers.get('content-type') as string };
}

interface ImageAnswer {
  id: string | null;
  name: string;
  class: string;
  confidence: number;
  probabilities: Record<string, number>;
  lowConfidence: boolean;
  decision: { defect: boolean; defectScore: number; threshold: number; goodClass: string } | null;
  model: { id: string; name: string; version: number; stage: string };
  latencyMs: number;
  error?: string;
}

let srv: TestServer;
let predictor: RunnerPredictor;
let admin: Client;
let engineerToken: string;
let viewerToken: string;
let lineId: string;
let tokenId: string;

async function post(path: string, token: string | null, body: Buffer, contentType: string, extra: Record<string, string> = {}) {
  const res = await fetch(`${srv.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
    body: new Uint8Array(body),
  });
  const text = await res.text();
  let json: { predictions?: ImageAnswer[]; error?: string } = {};
  try {
    json = JSON.parse(text);
  } catch {
    // the status says enough
  }
  return { status: res.status, headers: res.headers, json, text };
}

async function userToken(username: string, role: 'viewer' | 'engineer'): Promise<{ token: string; id: string }> {
  const user = await srv.auth.createUser(username, 'a long enough password', role);
  const principal: Principal = { kind: 'user', via: 'session', user };
  const created = await srv.auth.createToken(principal, `${username}'s script`);
  return { token: created.token, id: created.id };
}

async function registerModel(id: string, productLineId: string, opts: { decision?: { goodClass: string; threshold: number }; uniform?: boolean } = {}) {
  const { decision, uniform } = opts;
  const dir = join(srv.paths.modelsDir, id);
  await writeTinyModel(dir, { inputSize: 32, filters: 4, uniform });
  if (decision) {
    const metaFile = join(dir, 'defectflow.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    writeFileSync(metaFile, JSON.stringify({ ...meta, decision: { ...decision, mode: 'defect-recall', target: 0.9 } }));
  }
  return srv.db.repo.models.create({ id, productLineId, name: id, dir, labels: ['good', 'scratch'], inputSize: 32 });
}

beforeAll(async () => {
  srv = await startTestServer({
    auth: { admin: { username: 'root', password: 'root password 123' } },
    predict: (dir, images, options) => predictor.predict(dir, images, options), // through a real runner
    // v1 answers p = 0.5 for each label (a head of zeros): below 0.6, so each of its images is kept (low confidence).
    predictionLog: { sampleRate: 0, lowConfidence: 0.6 },
    predictLimits: { maxImages: LIMITS.maxImages, maxImageBytes: LIMITS.maxImageBytes },
  });
  predictor = await startRunnerPredictor(LIMITS, srv.paths.modelsDir);
  admin = new Client(srv);
  await admin.signIn('root', 'root password 123');
  const engineer = await userToken('eddie', 'engineer');
  engineerToken = engineer.token;
  tokenId = engineer.id;
  viewerToken = (await userToken('vic', 'viewer')).token;
  lineId = (await srv.db.repo.productLines.create('Strip line')).id;
  await registerModel('strip-v1', lineId, { uniform: true });
  await registerModel('strip-v2', lineId, { decision: { goodClass: 'good', threshold: 0.5 } });
  await srv.db.repo.models.promote('strip-v1');
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await predictor?.close();
});

describe('prediction API: access', () => {
  it('serves the OpenAPI 3.1 description to anyone; it parses and names both endpoints', async () => {
    const res = await fetch(`${srv.base}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const doc = JSON.parse(await res.text()) as { openapi: string; paths: Record<string, { post?: unknown }> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual(['/api/v1/models/{modelId}/predict', '/api/v1/product-lines/{productLineId}/predict']);
    for (const path of Object.values(doc.paths)) expect(path.post).toBeDefined();
  });

  it('401 without a token (or with a wrong one), 403 for a viewer token, as JSON; nothing is logged', async () => {
    const image = await noisyPng(1);
    const none = await post('/api/v1/models/strip-v1/predict', null, image, 'image/png');
    expect(none.status).toBe(401);
    expect(none.json.error).toMatch(/needs an API token: Authorization: Bearer dft_/);
    const wrong = await post('/api/v1/models/strip-v1/predict', 'dft_not-a-real-token', image, 'image/png');
    expect(wrong.status).toBe(401);
    const viewer = await post(`/api/v1/product-lines/${lineId}/predict`, viewerToken, image, 'image/png');
    expect([viewer.status, viewer.json.error]).toEqual([403, 'needs the engineer role; you are a viewer']);
    expect(await srv.db.repo.predictions.count()).toBe(0);
  });
});

describe('prediction API: predictions', () => {
  it('multipart images → one answer each: class, probabilities summing to 1, the model and its version, latency', async () => {
    const png = await noisyPng(2);
    const jpeg = await noisyJpeg(3);
    const { body, contentType } = await multipart([
      { name: 'cam1-0001.png', data: png },
      { name: 'cam1-0002.jpg', data: jpeg, type: 'image/jpeg' },
    ]);
    const res = await post(`/api/v1/product-lines/${lineId}/predict`, engineerToken, body, contentType);
    expect(res.status, res.text).toBe(200);
    const answers = res.json.predictions!;
    expect(answers.map((a) => a.name)).toEqual(['cam1-0001.png', 'cam1-0002.jpg']);
    for (const a of answers) {
      expect(['good', 'scratch']).toContain(a.class);
      expect(Object.keys(a.probabilities).sort()).toEqual(['good', 'scratch']);
      const sum = Object.values(a.probabilities).reduce((s, p) => s + p, 0);
      expect(sum).toBeCloseTo(1, 4);
      expect(a.confidence).toBeCloseTo(a.probabilities[a.class] as number, 6);
      expect(a.model).toEqual({ id: 'strip-v1', name: 'strip-v1', version: 1, stage: 'production' });
      expect(a.decision).toBeNull(); // v1 has no operating point
      expect(a.latencyMs).toBeGreaterThan(0);
      expect(a.id).toEqual(expect.any(String));
    }
  }, 60_000);

  it('raw image bytes → the same answer for one image; a model with an operating point adds its decision', async () => {
    const res = await post('/api/v1/models/strip-v2/predict', engineerToken, await noisyPng(4), 'image/png');
    expect(res.status, res.text).toBe(200);
    const [a] = res.json.predictions!;
    expect(a).toMatchObject({ name: 'image.png', model: { id: 'strip-v2', version: 2, stage: 'staging' } });
    const score = 1 - (a!.probabilities.good as number);
    expect(a!.decision).toEqual({ defect: score >= 0.5, defectScore: expect.any(Number), threshold: 0.5, goodClass: 'good' });
    expect(a!.decision!.defectScore).toBeCloseTo(score, 6);
    expect(a!.class).toBe(score >= 0.5 ? 'scratch' : 'good');
  }, 60_000);

  it('the product line endpoint answers with production: promote v2 → v2, ?version=1 → v1, roll back → v1', async () => {
    const image = await noisyPng(5);
    const version = async (query = '') => {
      const res = await post(`/api/v1/product-lines/${lineId}/predict${query}`, engineerToken, image, 'image/png');
      expect(res.status, res.text).toBe(200);
      return res.json.predictions![0]!.model;
    };
    expect(await version()).toMatchObject({ version: 1, stage: 'production' });

    const promote = await admin.mutate('models.promote', { id: 'strip-v2' });
    expect(promote.status, promote.raw).toBe(200);
    expect(await version()).toMatchObject({ id: 'strip-v2', version: 2, stage: 'production' });
    expect(await version('?version=1')).toMatchObject({ id: 'strip-v1', version: 1, stage: 'archived' });
    expect((await admin.query('models.line', { productLineId: lineId })).data).toMatchObject({
      production: { id: 'strip-v2' },
      rollbackTo: { id: 'strip-v1' },
    });

    const back = await admin.mutate('models.rollback', { productLineId: lineId });
    expect(back.status, back.raw).toBe(200);
    expect(await version()).toMatchObject({ id: 'strip-v1', version: 1, stage: 'production' });
    expect(await version('?version=2')).toMatchObject({ id: 'strip-v2', stage: 'staging' });
  }, 60_000);

  it('answers 404 / 409 / 400 naming the model, line or version', async () => {
    const image = await noisyPng(6);
    const missing = await post('/api/v1/models/nope/predict', engineerToken, image, 'image/png');
    expect([missing.status, missing.json.error]).toEqual([404, 'model nope does not exist']);
    const empty = await srv.db.repo.productLines.create('Empty line');
    const noProduction = await post(`/api/v1/product-lines/${empty.id}/predict`, engineerToken, image, 'image/png');
    expect(noProduction.status).toBe(409);
    expect(noProduction.json.error).toMatch(/"Empty line" has no production model: promote one .* \(\?version=N\)$/);
    const noVersion = await post(`/api/v1/product-lines/${lineId}/predict?version=9`, engineerToken, image, 'image/png');
    expect([noVersion.status, noVersion.json.error]).toEqual([404, 'product line "Strip line" has no model version 9']);
    const badVersion = await post(`/api/v1/product-lines/${lineId}/predict?version=two`, engineerToken, image, 'image/png');
    expect(badVersion.status).toBe(400);
    expect(badVersion.json.error).toMatch(/^version must be a whole number/);
  });

  it('limits: body over PREDICT_MAX_IMAGE_BYTES → 413, too many files → 400, other content types → 415, not an image → 422', async () => {
    const big = Buffer.alloc(LIMITS.maxImageBytes + 1, 7);
    const tooBig = await post('/api/v1/models/strip-v1/predict', engineerToken, big, 'image/png');
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error).toBe('the image is over the limit of 0.3 MiB (PREDICT_MAX_IMAGE_BYTES)');

    const image = await noisyPng(7);
    const four = await multipart([1, 2, 3, 4].map((k) => ({ name: `${k}.png`, data: image })));
    const many = await post('/api/v1/models/strip-v1/predict', engineerToken, four.body, four.contentType);
    expect([many.status, many.json.error]).toEqual([400, '4 images sent; the limit is 3 per request (PREDICT_MAX_IMAGES)']);

    const json = await post('/api/v1/models/strip-v1/predict', engineerToken, Buffer.from('{}'), 'application/json');
    expect(json.status).toBe(415);
    expect(json.json.error).toMatch(/unsupported Content-Type "application\/json": send multipart\/form-data/);

    const notImage = await post('/api/v1/models/strip-v1/predict', engineerToken, Buffer.from('hello'), 'image/png');
    expect(notImage.status).toBe(422);
    expect(notImage.json.error).toMatch(/^no image could be predicted: image\.png: /);

    // One bad file among good ones: its own error, the others answered (200).
    const mixed = await multipart([
      { name: 'ok.png', data: image },
      { name: 'huge.png', data: big },
    ]);
    const res = await post('/api/v1/models/strip-v1/predict', engineerToken, mixed.body, mixed.contentType);
    expect(res.status, res.text).toBe(200);
    expect(res.json.predictions![0]).toMatchObject({ name: 'ok.png', class: expect.any(String) });
    expect(res.json.predictions![1]).toMatchObject({ name: 'huge.png', error: expect.stringMatching(/PREDICT_MAX_IMAGE_BYTES/) });
  }, 60_000);
});

describe('prediction log', () => {
  it('every prediction is a row (model version, class, hash, token, source); low-confidence ones keep their image', async () => {
    const before = await srv.db.repo.predictions.count('strip-v1');
    const image = await noisyPng(8);
    const res = await post('/api/v1/models/strip-v1/predict', engineerToken, image, 'image/png');
    expect(res.status, res.text).toBe(200);
    const answer = res.json.predictions![0]!;
    expect([answer.confidence, answer.lowConfidence]).toEqual([0.5, true]); // below PREDICTION_LOW_CONFIDENCE (0.6 here)
    expect(await srv.db.repo.predictions.count('strip-v1')).toBe(before + 1);

    const row = (await srv.db.repo.predictions.get(answer.id!))!;
    expect(row).toMatchObject({
      modelId: 'strip-v1',
      modelVersion: 1,
      label: answer.class,
      source: 'api',
      tokenId,
      lowConfidence: true,
      imageReason: 'low_confidence',
      imageBytes: image.length,
      imageSha256: createHash('sha256').update(image).digest('hex'),
    });
    expect(row.confidence).toBeCloseTo(answer.confidence, 6);
    // The kept file is the image sent, under DATA_DIR/predictions/<model id>/.
    expect(row.imagePath).toMatch(/^strip-v1\/\d{4}-\d\d-\d\d\/[0-9a-f-]+\.png$/);
    expect(readFileSync(join(srv.paths.dataDir, 'predictions', row.imagePath!)).equals(image)).toBe(true);
  }, 60_000);

  it('predictions.list pages the log for a viewer; the kept image and its thumbnail are served to them', async () => {
    const viewer = { authorization: `Bearer ${viewerToken}` };
    const first = await admin.query('predictions.list', { modelId: 'strip-v1', limit: 2 });
    expect(first.status, first.raw).toBe(200);
    const page = first.data as { items: Array<{ id: string; hasImage: boolean; createdAt: string }>; nextCursor: string | null };
    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
    const rest = await admin.query('predictions.list', { modelId: 'strip-v1', limit: 200, cursor: page.nextCursor });
    const all = [...page.items, ...(rest.data as typeof page).items];
    expect(all).toHaveLength(await srv.db.repo.predictions.count('strip-v1'));
    expect(new Set(all.map((i) => i.id)).size).toBe(all.length);

    const kept = all.find((i) => i.hasImage)!;
    const thumb = await fetch(`${srv.base}/api/predictions/${kept.id}/image?thumb=16`, { headers: viewer });
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('content-type')).toBe('image/png');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect(Math.max(meta.width ?? 0, meta.height ?? 0)).toBe(16);
    expect((await fetch(`${srv.base}/api/predictions/${kept.id}/image`)).status).toBe(401);
    expect((await fetch(`${srv.base}/api/predictions/nope/image`, { headers: viewer })).status).toBe(404);
  });

  it("the model page's predictions (models.predict) are logged with source 'ui'", async () => {
    const image = await noisyPng(9);
    const res = await admin.mutate('models.predict', { modelId: 'strip-v2', images: [{ name: 'dropped.png', dataBase64: image.toString('base64') }] });
    expect(res.status, res.raw).toBe(200);
    const [row] = await srv.db.repo.predictions.list({ modelId: 'strip-v2', limit: 1 });
    expect(row).toMatchObject({ source: 'ui', imageName: 'dropped.png', modelVersion: 2, tokenId: null });
  }, 60_000);
});

describe('prediction API: rate limit', () => {
  it('429 with Retry-After past PREDICT_RATE_PER_MIN per token; another token still passes', async () => {
    let ownRunner: RunnerPredictor | undefined; // reads this server's models folder
    const predict: typeof predictor.predict = (dir, images, options) => (ownRunner as RunnerPredictor).predict(dir, images, options);
    const limited = await startTestServer({ auth: { admin: { username: 'root', password: 'root password 123' } }, predict, predictRatePerMin: 2 });
    ownRunner = await startRunnerPredictor(LIMITS, limited.paths.modelsDir);
    try {
      const line = await limited.db.repo.productLines.create('Rate line');
      const dir = join(limited.paths.modelsDir, 'rate-v1');
      await writeTinyModel(dir, { inputSize: 32, filters: 4 });
      await limited.db.repo.models.create({ id: 'rate-v1', productLineId: line.id, name: 'rate', dir, labels: ['good', 'scratch'], inputSize: 32 });
      await limited.db.repo.models.promote('rate-v1');
      const tokenOf = async (name: string) => {
        const user = await limited.auth.createUser(name, 'a long enough password', 'engineer');
        return (await limited.auth.createToken({ kind: 'user', via: 'session', user }, 'camera')).token;
      };
      const [a, b] = [await tokenOf('cam-a'), await tokenOf('cam-b')];
      const image = await noisyPng(10);
      const call = (token: string) =>
        fetch(`${limited.base}/api/v1/product-lines/${line.id}/predict`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'image/png' },
          body: new Uint8Array(image),
        });
      expect((await call(a)).status).toBe(200);
      expect((await call(a)).status).toBe(200);
      const refused = await call(a);
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await refused.json()) as { error: string }).error).toMatch(/the limit is 2 per minute per API token \(PREDICT_RATE_PER_MIN\)/);
      expect((await call(b)).status).toBe(200);
      expect(await limited.db.repo.predictions.count()).toBe(3); // the refused call predicted nothing
    } finally {
      await limited.close();
      await ownRunner.close();
    }
  }, 60_000);
});
