/**
 * Cluster mode storage: the web server reads run files and model folders from an S3-compatible store (s3rver on
 * loopback) with nothing on its own disk, deletes them there, and publishes changed datasets — only when told to.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline } from '@defectflow/nodes';
import { readDatasetManifest } from '@defectflow/storage';
import { startTestS3Server, type TestS3Server } from '@defectflow/storage/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRoutes } from '../server/http-files.ts';
import { silentLogger } from '../server/log.ts';
import { RunnerBridge } from '../server/runner-bridge.ts';
import { type ArtifactStore, createDatasetPublisher } from '../server/storage.ts';
import { datasetFiles, writeDataset } from './datasets-fixture.ts';
import { FakeLink, FakeRunnerControl, makeCaller, memoryDb, tempDir } from './helpers.ts';

let db: DbHandle;
let s3: TestS3Server;
let store: ArtifactStore;
let server: Server;
let base = '';
// The web server's own folders stay empty: every byte below comes from the object store.
const modelsDir = join(tempDir('df-web-'), 'models');

beforeAll(async () => {
  db = await memoryDb();
  s3 = await startTestS3Server();
  store = s3.store('plant-a');
  const routes = createFileRoutes({ repo: db.repo, datasetsRoot: tempDir(), modelsDir, store, log: silentLogger });
  server = createServer((req, res) => void routes(req, res, new URL(req.url ?? '/', 'http://x')).then((ok) => ok || res.writeHead(404).end()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.close();
  await s3?.close();
  await db?.close();
});

describe('web server reading artifacts from S3', () => {
  it('the bridge merges the full evaluate metrics and registers a model from its stored defectflow.json', async () => {
    const runId = (await db.repo.runs.create({ graph: createDefaultPipeline() })).id;
    await store.put(`runs/${runId}/metrics-evaluate.json`, JSON.stringify({ classes: ['a', 'b'], cells: { a: { a: ['a/1.png'] } } }));
    await store.put('models/steel-1/defectflow.json', JSON.stringify({ name: 'steel from s3', labels: ['good', 'scratch'], inputSize: 96 }));
    const link = new FakeLink();
    const relay = { runEvent() {}, runStatus() {}, runnerStatus() {} };
    const bridge = new RunnerBridge({ repo: db.repo, link, relay, modelsDir, runsDir: join(tempDir(), 'runs'), store });
    bridge.start();
    await bridge.idle();
    link.record(runId, { type: 'node.finished', nodeId: 'evaluate', nodeType: 'evaluate', summary: { accuracy: 0.5 }, durationMs: 5 });
    link.record(runId, { type: 'node.finished', nodeId: 'deploy', nodeType: 'deploy', summary: { modelId: 'steel-1', dir: join(modelsDir, 'steel-1') }, durationMs: 5 });
    await bridge.idle();
    bridge.stop();
    expect((await db.repo.runs.get(runId))?.metrics).toMatchObject({ accuracy: 0.5, classes: ['a', 'b'], cells: { a: { a: ['a/1.png'] } } });
    expect(await db.repo.models.get('steel-1')).toMatchObject({ name: 'steel from s3', labels: ['good', 'scratch'], inputSize: 96 });
  });

  it('the model archive and ONNX export are built from the store listing; deleting the model deletes its objects', async () => {
    const weights = Buffer.alloc(70_000, 9);
    await store.put('models/steel-2/model.json', '{"format":"layers-model"}');
    await store.put('models/steel-2/weights/group1.bin', weights);
    await store.put('models/steel-2/model.onnx', 'onnx-bytes');
    await store.put('models/steel-20/keep.json', '{}');
    const model = await db.repo.models.create({ name: 'steel v2', dir: join(modelsDir, 'steel-2'), labels: ['a'], inputSize: 96 });

    const res = await fetch(`${base}/api/models/${model.id}/archive`);
    expect(res.status).toBe(200);
    const archive = join(tempDir('df-archive-'), 'm.tar.gz');
    writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
    const out = tempDir('df-extract-');
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    const root = `steel-v2-${model.id.slice(-8)}`;
    expect(readFileSync(join(out, root, 'model.json'), 'utf8')).toBe('{"format":"layers-model"}');
    expect(readFileSync(join(out, root, 'weights', 'group1.bin'))).toEqual(weights);
    const onnx = await fetch(`${base}/api/models/${model.id}/model.onnx`);
    expect([onnx.status, await onnx.text()]).toEqual([200, 'onnx-bytes']);

    const api = makeCaller(db, new FakeRunnerControl(), { paths: { dataDir: tempDir(), datasetsRoot: tempDir(), modelsDir }, store });
    await api.models.delete({ id: model.id });
    expect(await store.list('models/steel-2/')).toEqual([]);
    expect(await store.has('models/steel-20/keep.json')).toBe(true);
    expect((await fetch(`${base}/api/models/${model.id}/archive`)).status).toBe(404);
  });
});

describe('publishing datasets after a change', () => {
  it('with STORAGE_URL set a relabel publishes the new version; without it nothing is copied', async () => {
    const root = tempDir('df-ds-');
    writeDataset(root, 'plates', await datasetFiles(3));
    const publisher = createDatasetPublisher({ store, datasetsRoot: root, enabled: true, log: silentLogger });
    const api = makeCaller(db, new FakeRunnerControl(), { paths: { dataDir: tempDir(), datasetsRoot: root, modelsDir }, store, datasetPublisher: publisher });
    await api.datasets.inspect({ name: 'plates' });
    await api.datasets.relabel({ name: 'plates', ids: ['good/img0.png'], to: 'scratch' });
    const manifest = await readDatasetManifest(store, 'plates');
    expect(Object.keys(manifest!.files)).toEqual(expect.arrayContaining(['.versions/v2.csv', 'good/img0.png']));

    const off = s3.store('embedded');
    const quiet = createDatasetPublisher({ store: off, datasetsRoot: root, enabled: false, log: silentLogger });
    await quiet.publishAfterChange('plates');
    expect(await off.list('')).toEqual([]);
  });
});
