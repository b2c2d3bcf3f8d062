/**
 * reviews.comparison on one test split, over real HTTP (PGlite, the real prediction worker with TensorFlow.js): the
 * production model — a fixture whose answers are known (a bright patch → scratch, a plain image → good) — is run on
 * exactly the images the retrain run's evaluate node listed, in batches of PREDICT_MAX_IMAGES, and scored like the
 * retrained model; the result is kept, so later polls never run the worker again. A run without per-image
 * predictions says why there is no same-split comparison.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../server/auth/principal.ts';
import type { PredictFn } from '../server/trpc.ts';
import { Client, startTestServer, type TestServer } from './auth-server.ts';
import { writeSpatialModel } from '../../runner/test/model-fixture.ts';
import { type RunnerPredictor, startRunnerPredictor } from './runner-predictor.ts';

const LIMITS = { maxQueue: 4, maxImages: 2, maxImageBytes: 256 * 1024, maxModels: 2, maxPixels: 100_000_000 };
let predictor: RunnerPredictor;
let srv: TestServer;
let viewer: Client;
let lineId: string;
const batches: number[] = [];

/** 32×32 dark grey, with a white 8×8 patch when `patch`. */
async function image(patch: boolean): Promise<Buffer> {
  const raw = Buffer.alloc(32 * 32 * 3, 10);
  if (patch) for (let r = 8; r < 16; r++) raw.fill(255, (r * 32 + 16) * 3, (r * 32 + 24) * 3);
  return sharp(raw, { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer();
}

/** The retrain run's test split: true class, whether the image has the patch (what the production model sees). */
const SPLIT: Array<[id: string, label: string, patch: boolean]> = [
  ['good/a.png', 'good', false],
  ['good/b.png', 'good', false],
  ['scratch/a.png', 'scratch', true],
  ['scratch/b.png', 'scratch', true],
  ['scratch/faint.png', 'scratch', false], // no visible patch: the production model says good
  ['dent/review-1.png', 'dent', false], // a class the production model does not have
];

function runGraph() {
  return {
    version: 1 as const,
    nodes: [
      { id: 'data', type: 'dataset', params: { path: 'parts', version: 2 }, position: { x: 0, y: 0 } },
      { id: 'train', type: 'train', params: { epochs: 3 }, position: { x: 0, y: 0 } },
    ],
    edges: [],
  };
}

beforeAll(async () => {
  const counted: PredictFn = (dir, images, options) => {
    batches.push(images.length);
    return predictor.predict(dir, images, options);
  };
  srv = await startTestServer({
    auth: { admin: { username: 'root', password: 'root password 123' } },
    predict: counted,
    predictLimits: { maxImages: LIMITS.maxImages, maxImageBytes: LIMITS.maxImageBytes },
  });
  predictor = await startRunnerPredictor(LIMITS, srv.paths.modelsDir);
  const user = await srv.auth.createUser('vic', 'a long enough password', 'viewer');
  const principal: Principal = { kind: 'user', via: 'session', user };
  viewer = new Client(srv, { authorization: `Bearer ${(await srv.auth.createToken(principal, 'vic')).token}` });
  for (const [id, , patch] of SPLIT) {
    mkdirSync(join(srv.paths.datasetsRoot, 'parts', id, '..'), { recursive: true });
    writeFileSync(join(srv.paths.datasetsRoot, 'parts', id), await image(patch));
  }
  lineId = (await srv.db.repo.productLines.create('Parts line')).id;
  await srv.db.repo.runs.create({ id: 'run-1', productLineId: lineId, graph: runGraph() });
  await srv.db.repo.runs.update('run-1', { status: 'succeeded', metrics: { accuracy: 0.95, macroF1: 0.94 } });
  const dir = await writeSpatialModel(join(srv.paths.modelsDir, 'parts-v1'));
  await srv.db.repo.models.create({ id: 'parts-v1', runId: 'run-1', productLineId: lineId, name: 'parts', dir, labels: ['good', 'scratch'], inputSize: 32, metrics: { accuracy: 0.95, macroF1: 0.94 } });
  await srv.db.repo.models.promote('parts-v1');
  // The retrain run: its evaluate metrics list each test image with the retrained model's answer (all right but one).
  const predictions = SPLIT.map(([id, label]) => ({ id, trueLabel: label, predLabel: id === 'dent/review-1.png' ? 'good' : label, confidence: 0.9, probs: [] }));
  await srv.db.repo.runs.create({ id: 'run-2', productLineId: lineId, graph: runGraph() });
  await srv.db.repo.runs.update('run-2', { status: 'succeeded', metrics: { split: 'test', classes: ['dent', 'good', 'scratch'], count: 6, accuracy: 5 / 6, macroF1: 0.6, predictions } });
  await srv.db.repo.models.create({ id: 'parts-v2', runId: 'run-2', productLineId: lineId, name: 'parts', dir: join(srv.paths.modelsDir, 'parts-v2'), labels: ['dent', 'good', 'scratch'], inputSize: 32 });
}, 60_000);

afterAll(async () => {
  await srv?.close();
  await predictor?.close();
});

interface Scores {
  accuracy: number;
  macroF1: number;
  perClass: Record<string, { recall: number; support: number }>;
}
interface Comparison {
  production: { id: string; metrics: { accuracy: number | null } };
  sameSplit:
    | { state: 'scoring'; images: number; description: string }
    | { state: 'done'; images: number; split: string; description: string; candidate: Scores; production: Scores & { modelId: string }; failed: unknown[] }
    | { state: 'unavailable'; reason: string }
    | null;
}

async function comparison(runId: string): Promise<Comparison> {
  const res = await viewer.query('reviews.comparison', { modelId: 'parts-v1', runId });
  expect(res.status).toBe(200);
  return res.data as Comparison;
}

describe('the retrain comparison on the same test split', () => {
  it('runs the production model on the retrain run’s test images through the worker and scores both models alike', async () => {
    const first = await comparison('run-2');
    expect(first.sameSplit).toMatchObject({ state: 'scoring', images: 6 });
    await srv.sameSplit.settled();
    const { sameSplit, production } = await comparison('run-2');
    if (sameSplit?.state !== 'done') throw new Error(`not scored: ${JSON.stringify(sameSplit)}`);
    expect(sameSplit.images).toBe(SPLIT.length);
    expect(sameSplit.description).toBe('both scored on the 6 test images of run run-2');
    expect(sameSplit.failed).toEqual([]);
    // Production: good 2/2, scratch 2/3 (the faint one → good), dent 0/1 (→ good): 4 of 6.
    expect(sameSplit.production.modelId).toBe('parts-v1');
    expect(sameSplit.production.accuracy).toBeCloseTo(4 / 6, 6);
    expect(sameSplit.production.perClass).toEqual({
      dent: { recall: 0, support: 1 },
      good: { recall: 1, support: 2 },
      scratch: { recall: 2 / 3, support: 3 },
    });
    // F1: good P=2/4 R=1 → 2/3, scratch P=1 R=2/3 → 0.8, dent 0.
    expect(sameSplit.production.macroF1).toBeCloseTo((2 / 3 + 0.8) / 3, 6);
    // Retrained: all right but the dent → 5 of 6, dent recall 0.
    expect(sameSplit.candidate.accuracy).toBeCloseTo(5 / 6, 6);
    expect(sameSplit.candidate.perClass.scratch).toEqual({ recall: 1, support: 3 });
    // The production model's own-run metrics stay for reference.
    expect(production.metrics.accuracy).toBe(0.95);
    // Six images in batches of PREDICT_MAX_IMAGES=2.
    expect(batches).toEqual([2, 2, 2]);
  }, 60_000);

  it('keeps the result: later polls never run the worker again', async () => {
    expect(existsSync(join(srv.paths.dataDir, 'runs', 'run-2', 'same-split-parts-v1.json'))).toBe(true);
    const again = await comparison('run-2');
    expect(again.sameSplit).toMatchObject({ state: 'done', images: 6 });
    expect(batches).toEqual([2, 2, 2]);
  });

  it('names an image it could not run the production model on and counts it as wrong', async () => {
    const predictions = [
      { id: 'good/a.png', trueLabel: 'good', predLabel: 'good', confidence: 0.9, probs: [] },
      { id: 'good/gone.png', trueLabel: 'good', predLabel: 'good', confidence: 0.9, probs: [] },
    ];
    await srv.db.repo.runs.create({ id: 'run-4', productLineId: lineId, graph: runGraph() });
    await srv.db.repo.runs.update('run-4', { status: 'succeeded', metrics: { split: 'test', classes: ['good', 'scratch'], count: 2, predictions } });
    await srv.db.repo.models.create({ id: 'parts-v4', runId: 'run-4', productLineId: lineId, name: 'parts', dir: join(srv.paths.modelsDir, 'parts-v4'), labels: ['good', 'scratch'], inputSize: 32 });
    await comparison('run-4');
    await srv.sameSplit.settled();
    const { sameSplit } = await comparison('run-4');
    if (sameSplit?.state !== 'done') throw new Error(`not scored: ${JSON.stringify(sameSplit)}`);
    expect(sameSplit.images).toBe(2);
    expect(sameSplit.failed).toEqual([{ id: 'good/gone.png', error: 'image not found: good/gone.png' }]);
    expect(sameSplit.production.perClass.good).toEqual({ recall: 0.5, support: 2 });
    expect(sameSplit.candidate.accuracy).toBe(1);
  }, 60_000);

  it('says why there is no same-split comparison when the run stored no per-image predictions', async () => {
    await srv.db.repo.runs.create({ id: 'run-3', productLineId: lineId, graph: runGraph() });
    await srv.db.repo.runs.update('run-3', { status: 'succeeded', metrics: { accuracy: 0.9, macroF1: 0.88 } });
    await srv.db.repo.models.create({ id: 'parts-v3', runId: 'run-3', productLineId: lineId, name: 'parts', dir: join(srv.paths.modelsDir, 'parts-v3'), labels: ['good', 'scratch'], inputSize: 32 });
    const { sameSplit } = await comparison('run-3');
    expect(sameSplit).toMatchObject({ state: 'unavailable', reason: expect.stringMatching(/run run-3 has no per-image evaluate predictions/) });
  });
});
