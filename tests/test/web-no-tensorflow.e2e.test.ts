/**
 * The web server loads neither TensorFlow.js nor ONNX Runtime: the real web server (built .next, tsx server.ts)
 * runs with a preload that records every module it resolves (tests/src/record-resolutions.mjs, ESM and CommonJS,
 * one file per process id). A tiny run trains a model in the embedded runner; then a prediction through the HTTP
 * prediction API and models.predict, a backbone import with its cut points and a throughput measurement all
 * answer — and the web process's record holds no @tensorflow/*, onnxruntime-node or nsfwjs (the runner child's may).
 * Sample data generation needs no check of its own: its generator lives in @defectflow/engine/data, which the web
 * server imports at start (paths, image headers) and which the record below covers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { resnetFixtureOnnx } from '@defectflow/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyTransferGraph } from '../src/graphs.ts';
import { type AppHandle, createTinyDataset, startApp } from '../src/harness.ts';
import { waitForRunEnd } from '../src/reliability.ts';

const FORBIDDEN = /(^|[\s/])(@tensorflow\/|onnxruntime-node|nsfwjs)/;
const records = mkdtempSync(path.join(tmpdir(), 'df-resolutions-'));
const preload = pathToFileURL(path.join(import.meta.dirname, '../src/record-resolutions.mjs')).href;

describe('the web server holds no TensorFlow.js and no ONNX Runtime', () => {
  let app: AppHandle;
  let modelId: string;
  let image: Buffer;

  beforeAll(async () => {
    app = await startApp({ env: { NODE_OPTIONS: `--import ${preload}`, RECORD_RESOLUTIONS_DIR: records } });
    await app.waitForRunner();
    const dataset = await createTinyDataset(app, 'no-tf-tiny', 8);
    const classDir = path.join(app.datasetsRoot, dataset, 'scratches');
    image = readFileSync(path.join(classDir, readdirSync(classDir).sort()[0] as string));
    const graph = tinyTransferGraph({
      dataset: { path: dataset, valRatio: 0.2, testRatio: 0.25, seed: 1 },
      head: { hidden: 8 },
      train: { epochs: 1, batchSize: 8, earlyStopping: false, seed: 1 },
      deploy: { name: 'no-tf model', gateMetric: 'none' },
    });
    const started = await app.trpc<{ ok: boolean; runId: string }>('runs.start', { graph }, 'mutation');
    const run = await waitForRunEnd(app, started.runId, 240_000);
    expect(run.status).toBe('succeeded');
    const [model] = await app.trpc<{ id: string; runId: string | null }[]>('models.list', {});
    modelId = model?.id as string;
  });

  afterAll(async () => {
    await app?.dispose();
  });

  it('predicts (prediction API and models.predict), imports, inspects and measures a backbone — all in the runner', async () => {
    const res = await fetch(`${app.url}/api/v1/models/${encodeURIComponent(modelId)}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(image),
    });
    const body = (await res.json()) as { predictions: { class: string; probabilities: Record<string, number> }[] };
    expect(res.status).toBe(200);
    expect(Object.values(body.predictions[0]?.probabilities ?? {}).reduce((s, p) => s + p, 0)).toBeCloseTo(1, 4);

    const ui = await app.trpc<{ predictions: { name: string; label?: string }[] }>(
      'models.predict',
      { modelId, images: [{ name: 'line-1.png', dataBase64: image.toString('base64') }] },
      'mutation',
    );
    expect(ui.predictions[0]).toMatchObject({ name: 'line-1.png', label: expect.any(String) });

    const upload = await fetch(`${app.url}/api/backbones/upload?name=resnet.onnx`, { method: 'PUT', body: new Uint8Array(resnetFixtureOnnx({ size: 64 })) });
    expect(upload.status).toBe(200);
    const cuts = await app.trpc<{ name: string }[]>('backbones.cutPoints', { name: 'resnet.onnx' });
    expect(cuts.length).toBeGreaterThan(0);
    const measured = await app.trpc<{ imagesPerSecond: number | null }>('backbones.measure', { name: 'resnet.onnx', images: 8 }, 'mutation');
    expect(measured.imagesPerSecond).toBeGreaterThan(0);

    const webPid = app.pid();
    const record = readFileSync(path.join(records, `${webPid}.txt`), 'utf8').split('\n');
    expect(record.length).toBeGreaterThan(100); // the recorder ran in the web process (next, tRPC, sharp …)
    expect(record.filter((line) => line.includes('@defectflow/engine') || line.includes('packages/engine')).length).toBeGreaterThan(0);
    expect(record.filter((line) => FORBIDDEN.test(line))).toEqual([]);
    // The runner child computed the predictions: its own record holds TF.js (proof the check would see it).
    const others = readdirSync(records).filter((f) => f !== `${webPid}.txt`);
    const runnerLoadedTf = others.some((f) => readFileSync(path.join(records, f), 'utf8').split('\n').some((line) => FORBIDDEN.test(line)));
    expect(runnerLoadedTf).toBe(true);
  });
});
