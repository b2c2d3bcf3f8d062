/**
 * The review-and-retrain loop over real HTTP (the server's tRPC, request guard and sign-in on PGlite), real files
 * (images made by sharp, kept by the prediction log, copied into a real dataset folder) and a scripted runner:
 * the queue holds only kept low-confidence / drifted images; viewers look but cannot label; labelling, discarding
 * and relabelling; "add to dataset" writes the next version with the images in their class folders (a new class
 * included) and never adds an image twice; retrain records a run of the model's graph on the new version; the
 * comparison names the production model and links the run comparison.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Principal } from '../server/auth/principal.ts';
import { readVersionEntries } from '../server/datasets/versions.ts';
import type { LogEntry } from '../server/predictions/log.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, startTestServer, type TestServer } from './auth-server.ts';
import { datasetFiles, pngBytes, writeDataset } from './datasets-fixture.ts';
import { FakeRunnerControl } from './helpers.ts';

let srv: TestServer;
let runner: FakeRunnerControl;
let engineer: Client;
let viewer: Client;
let lineId: string;
const MODEL = 'parts-v1';

async function bearer(username: string, role: 'viewer' | 'engineer'): Promise<Client> {
  const user = await srv.auth.createUser(username, 'a long enough password', role);
  const principal: Principal = { kind: 'user', via: 'session', user };
  const { token } = await srv.auth.createToken(principal, `${username}'s token`);
  return new Client(srv, { authorization: `Bearer ${token}` });
}

function entry(data: Buffer, label: string, confidence: number, drifted = false): LogEntry {
  const other = label === 'good' ? 'scratch' : 'good';
  return { name: 'cam.png', data, label, confidence, probabilities: { [label]: confidence, [other]: 1 - confidence }, latencyMs: 5, drift: { score: drifted ? 9 : 1, drifted } };
}

type Stats = { waiting: number; labelled: number; added: number; discarded: number };
type Item = { id: string; label: string; confidence: number; imageUrl: string };

beforeAll(async () => {
  runner = new FakeRunnerControl();
  srv = await startTestServer({
    auth: { admin: { username: 'root', password: 'root password 123' } },
    runner,
    predictionLog: { sampleRate: 0, lowConfidence: 0.6 },
  });
  engineer = await bearer('eddie', 'engineer');
  viewer = await bearer('vic', 'viewer');
  writeDataset(srv.paths.datasetsRoot, 'parts', await datasetFiles(4));
  lineId = (await srv.db.repo.productLines.create('Parts line')).id;
  await srv.db.repo.runs.create({
    id: 'run-1',
    productLineId: lineId,
    graph: {
      version: 1,
      nodes: [
        { id: 'data', type: 'dataset', params: { path: 'parts', version: 1 }, position: { x: 0, y: 0 } },
        { id: 'train', type: 'train', params: { epochs: 3 }, position: { x: 0, y: 0 } },
      ],
      edges: [],
    },
  });
  await srv.db.repo.runs.update('run-1', { status: 'succeeded', metrics: { accuracy: 0.8, macroF1: 0.75 } });
  await srv.db.repo.models.create({ id: MODEL, runId: 'run-1', productLineId: lineId, name: MODEL, dir: join(srv.paths.modelsDir, MODEL), labels: ['good', 'scratch'], inputSize: 32 });
  await srv.db.repo.models.promote(MODEL);
  const images = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => pngBytes(50, n)));
  // confident (not kept) · 4 low-confidence · confident but drifted (kept for review)
  await srv.predictionLog.record(
    [entry(images[0]!, 'good', 0.97), entry(images[1]!, 'good', 0.55), entry(images[2]!, 'scratch', 0.52), entry(images[3]!, 'good', 0.51), entry(images[4]!, 'scratch', 0.58), entry(images[5]!, 'good', 0.9, true)],
    { model: { id: MODEL, version: 1 }, source: 'api' },
  );
}, 60_000);

afterAll(async () => {
  await srv?.close();
});

describe('review queue', () => {
  it('holds the kept low-confidence and drifted images, oldest first, with their probabilities; a viewer may look', async () => {
    const res = await viewer.query('reviews.queue', { modelId: MODEL });
    expect(res.status).toBe(200);
    const data = res.data as { items: (Item & { drifted: boolean; probabilities: Record<string, number> })[]; stats: Stats; model: { labels: string[] } };
    expect(data.model.labels).toEqual(['good', 'scratch']);
    // One batch: the same time, so the order among them is by id; compare as a set.
    expect(data.items.map((i) => [i.label, i.confidence, i.drifted]).sort((x, y) => Number(x[1]) - Number(y[1]))).toEqual([
      ['good', 0.51, false],
      ['scratch', 0.52, false],
      ['good', 0.55, false],
      ['scratch', 0.58, false],
      ['good', 0.9, true],
    ]);
    const probs = data.items.find((i) => i.confidence === 0.55)!.probabilities;
    expect(Object.keys(probs).sort()).toEqual(['good', 'scratch']);
    expect(probs.scratch).toBeCloseTo(0.45, 6);
    expect(data.stats).toEqual({ waiting: 5, labelled: 0, added: 0, discarded: 0 });
    const image = await viewer.http('GET', data.items[0]!.imageUrl);
    expect([image.status, image.headers['content-type']]).toEqual([200, 'image/png']);
  });

  it('refuses a viewer’s label (403) and a prediction that is not in the queue (400)', async () => {
    const { items } = (await viewer.query('reviews.queue', { modelId: MODEL })).data as { items: Item[] };
    const refused = await viewer.mutate('reviews.label', { predictionId: items[0]!.id, label: 'good' });
    expect([refused.status, refused.message]).toEqual([403, 'needs the engineer role; you are a viewer']);
    const confident = (await srv.db.repo.predictions.list({ modelId: MODEL, limit: 10 })).find((r) => r.confidence === 0.97)!;
    const notQueued = await engineer.mutate('reviews.label', { predictionId: confident.id, label: 'good' });
    expect(notQueued.status).toBe(400);
    expect(notQueued.message).toMatch(/not in the review queue/);
    const badName = await engineer.mutate('reviews.label', { predictionId: items[0]!.id, label: '../evil' });
    expect(badName.status).toBe(400);
    expect(badName.message).toMatch(/Class name "..\/evil" is not valid/);
    expect(((await viewer.query('reviews.stats', { modelId: MODEL })).data as Stats).waiting).toBe(5);
  });

  it('labels (the reviewer recorded), discards, relabels; a new class is allowed', async () => {
    const { items } = (await engineer.query('reviews.queue', { modelId: MODEL })).data as { items: Item[] };
    const [a, b, c, d, e] = items as [Item, Item, Item, Item, Item];
    expect((await engineer.mutate('reviews.label', { predictionId: a.id, label: 'good' })).status).toBe(200); // confirm
    expect((await engineer.mutate('reviews.label', { predictionId: b.id, label: 'good' })).status).toBe(200); // correct
    expect((await engineer.mutate('reviews.label', { predictionId: b.id, label: 'dent' })).status).toBe(200); // back, relabel: a new defect type
    expect((await engineer.mutate('reviews.label', { predictionId: c.id, label: null })).status).toBe(200); // discard
    const last = await engineer.mutate('reviews.label', { predictionId: e.id, label: 'scratch' });
    expect((last.data as { stats: Stats }).stats).toEqual({ waiting: 1, labelled: 3, added: 0, discarded: 1 });
    const row = (await srv.db.repo.predictions.get(b.id))!;
    expect(row.reviewedLabel).toBe('dent');
    expect(row.reviewedBy).toBe((await srv.db.repo.users.getByUsername('eddie'))?.id);
    const left = (await engineer.query('reviews.queue', { modelId: MODEL })).data as { items: Item[] };
    expect(left.items.map((i) => i.id)).toEqual([d.id]);
  });
});

describe('add to dataset and retrain', () => {
  it('refuses a viewer, then writes the next dataset version with the labelled images in their class folders', async () => {
    const refused = await viewer.mutate('reviews.addToDataset', { modelId: MODEL });
    expect(refused.status).toBe(403);
    const res = await engineer.mutate('reviews.addToDataset', { modelId: MODEL });
    expect(res.status).toBe(200);
    const added = res.data as { version: number; added: Record<string, number>; newClasses: string[]; counts: Record<string, number>; stats: Stats };
    expect(added.version).toBe(2);
    expect(added.added).toEqual({ good: 1, dent: 1, scratch: 1 });
    expect(added.newClasses).toEqual(['dent']);
    expect(added.counts).toEqual({ good: 6, scratch: 6, dent: 1 });
    expect(added.stats).toEqual({ waiting: 1, labelled: 0, added: 3, discarded: 1 });
    // The version lists the copies; each file holds the kept image's bytes.
    const entries = await readVersionEntries(srv.paths.datasetsRoot, 'parts', 2);
    const reviewed = entries.filter((en) => en.id.includes('review-'));
    expect(reviewed.map((en) => en.label).sort()).toEqual(['dent', 'good', 'scratch']);
    for (const en of reviewed) {
      const id = /review-([0-9a-f-]+)\.png$/.exec(en.id)![1]!;
      const row = (await srv.db.repo.predictions.get(id))!;
      expect(row.reviewedLabel).toBe(en.label);
      expect([row.addedDataset, row.addedVersion]).toEqual(['parts', 2]);
      expect(readFileSync(join(srv.paths.datasetsRoot, 'parts', en.id)).equals(readFileSync(srv.predictionLog.imageFile(row)!))).toBe(true);
    }
  });

  it('never adds an image twice, and an added image’s label is final', async () => {
    const again = await engineer.mutate('reviews.addToDataset', { modelId: MODEL });
    expect(again.status).toBe(400);
    expect(again.message).toMatch(/no labelled images waiting to be added/);
    const addedRow = (await srv.db.repo.predictions.list({ modelId: MODEL, limit: 10 })).find((r) => r.addedVersion === 2)!;
    const relabel = await engineer.mutate('reviews.label', { predictionId: addedRow.id, label: 'good' });
    expect(relabel.status).toBe(409);
    expect(relabel.message).toMatch(/already added to dataset parts v2/);
    // One more label: the next addition holds only it.
    const { items } = (await engineer.query('reviews.queue', { modelId: MODEL })).data as { items: Item[] };
    await engineer.mutate('reviews.label', { predictionId: items[0]!.id, label: 'scratch' });
    const next = (await engineer.mutate('reviews.addToDataset', { modelId: MODEL })).data as { version: number; addedImages: number; counts: Record<string, number> };
    expect([next.version, next.addedImages, next.counts]).toEqual([3, 1, { good: 6, scratch: 7, dent: 1 }]);
  });

  it('retrain starts the model’s graph, same params, on the new version as an ordinary run; the comparison names production', async () => {
    expect((await viewer.mutate('reviews.retrain', { modelId: MODEL })).status).toBe(403);
    const res = await engineer.mutate('reviews.retrain', { modelId: MODEL });
    expect(res.status).toBe(200);
    const started = res.data as { ok: boolean; runId: string; version: number; previousVersion: number };
    expect([started.ok, started.version, started.previousVersion]).toEqual([true, 3, 1]);
    const run = (await srv.db.repo.runs.get(started.runId))!;
    expect(run.productLineId).toBe(lineId);
    expect(run.graph.nodes.map((n) => [n.id, n.params])).toEqual([
      ['data', { path: 'parts', version: 3 }],
      ['train', { epochs: 3 }],
    ]);
    expect(runner.started.at(-1)?.runId).toBe(started.runId);
    // The run finishes and registers its model: the comparison shows both.
    await srv.db.repo.runs.update(started.runId, { status: 'succeeded', metrics: { accuracy: 0.9, macroF1: 0.88 } });
    await srv.db.repo.models.create({ id: 'parts-v2', runId: started.runId, productLineId: lineId, name: 'parts-v2', dir: join(srv.paths.modelsDir, 'parts-v2'), labels: ['dent', 'good', 'scratch'], inputSize: 32, metrics: { accuracy: 0.9, macroF1: 0.88 } });
    const cmp = (await viewer.query('reviews.comparison', { modelId: MODEL, runId: started.runId })).data as {
      run: { status: string };
      production: { id: string; metrics: { accuracy: number | null } };
      candidate: { id: string; metrics: { accuracy: number; macroF1: number } };
      compareUrl: string;
    };
    expect(cmp.run.status).toBe('succeeded');
    expect(cmp.production.id).toBe(MODEL);
    expect(cmp.candidate).toMatchObject({ id: 'parts-v2', metrics: { accuracy: 0.9, macroF1: 0.88 } });
    expect(cmp.compareUrl).toBe(`/runs/compare?ids=run-1,${started.runId}`);
  });

  it('retrain refuses when the dataset has nothing newer than the version the model trained on', async () => {
    const res = await engineer.mutate('reviews.retrain', { modelId: 'parts-v2' });
    expect(res.status).toBe(412);
    expect(res.message).toMatch(/Dataset parts has no version newer than v3/);
  });
});
