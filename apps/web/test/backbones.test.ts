/**
 * The backbone library over real HTTP and tRPC: an .onnx upload (bounded, validated, never replacing a
 * file), its cut points with shapes, settings saved as the sidecar the backbone node reads, measured
 * throughput, and clear refusals.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { resnetFixtureOnnx } from '@defectflow/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackboneUploadRoute } from '../server/backbones/upload.ts';
import { silentLogger } from '../server/log.ts';
import { FakeRunnerControl, makeCaller, memoryDb, tempDir } from './helpers.ts';
import { inProcessBackbones } from './runner-predictor.ts';

const db = await memoryDb();
const dataDir = tempDir('df-backbones-');
let server: Server;
let base: string;
const caller = makeCaller(db, new FakeRunnerControl(), { paths: { dataDir, datasetsRoot: tempDir(), modelsDir: tempDir() } });
const fixture = resnetFixtureOnnx({ size: 64 });

beforeAll(async () => {
  const route = createBackboneUploadRoute({ dataDir, maxBytes: fixture.length + 1000, log: silentLogger, inspector: inProcessBackbones(dataDir) });
  server = createServer((req, res) => {
    void route(req, res, new URL(req.url ?? '/', 'http://x')).then((handled) => (handled ? undefined : res.writeHead(404).end()));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/backbones/upload`;
});

afterAll(async () => {
  await new Promise((ok) => server.close(ok));
});

const put = (name: string, body: Uint8Array) => fetch(`${base}?name=${encodeURIComponent(name)}`, { method: 'PUT', body: new Uint8Array(body) });

describe('backbone library', () => {
  it('imports an .onnx file and lists it with cut points, parameters and input size', async () => {
    const res = await put('resnet-tiny.onnx', fixture);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({ name: 'resnet-tiny.onnx', inputSize: 64, layout: 'NCHW', normalization: 'imagenet', cut: '/avgpool/GlobalAveragePool_output_0', error: null });
    expect(body.cutPoints.map((p: { label: string }) => p.label)).toEqual(expect.arrayContaining(['layer1 → 8×16×16', 'layer2 → 16×8×8', 'layer3 → 32×4×4']));
    expect(new Uint8Array(await readFile(join(dataDir, 'backbones', 'resnet-tiny.onnx')))).toEqual(fixture);
    const list = await caller.backbones.list();
    expect(list.map((b) => b.name)).toEqual(['resnet-tiny.onnx']);
    expect(list[0]?.params).toBeGreaterThan(10_000);
  });

  it('refuses a second file of the same name, a file over BACKBONE_UPLOAD_MAX_BYTES, a bad name and a non-ONNX file', async () => {
    const again = await put('resnet-tiny.onnx', fixture);
    expect(again.status).toBe(409);
    expect((await again.json()).error).toMatch(/already exists/);
    const big = await put('big.onnx', new Uint8Array(fixture.length + 2000));
    expect(big.status).toBe(413);
    expect((await big.json()).error).toMatch(/BACKBONE_UPLOAD_MAX_BYTES/);
    const badName = await put('../x.onnx', fixture);
    expect(badName.status).toBe(400);
    const junk = await put('junk.onnx', new TextEncoder().encode('not a model at all'));
    expect(junk.status).toBe(400);
    expect((await junk.json()).error).toMatch(/junk\.onnx is not a usable backbone/);
    expect(readdirSync(join(dataDir, 'backbones')).sort()).toEqual(['resnet-tiny.onnx']);
  });

  it('saves the settings form as the sidecar and refuses a cut point the graph lacks', async () => {
    const saved = await caller.backbones.saveSettings({ name: 'resnet-tiny.onnx', settings: { cut: 'layer2', normalization: 'unit' } });
    expect(saved).toMatchObject({ cut: 'layer2', normalization: 'unit' });
    expect(JSON.parse(await readFile(join(dataDir, 'backbones', 'resnet-tiny.onnx.json'), 'utf8'))).toEqual({ cut: 'layer2', normalization: 'unit' });
    await expect(caller.backbones.saveSettings({ name: 'resnet-tiny.onnx', settings: { cut: 'layer9' } })).rejects.toThrow(/"layer9" is not a cut point/);
    expect((await caller.backbones.get({ name: 'resnet-tiny.onnx' })).cut).toBe('layer2');
    await expect(caller.backbones.get({ name: 'missing.onnx' })).rejects.toThrow(/No backbone "missing.onnx"/);
  });

  it('measures throughput through ONNX Runtime on this machine', async () => {
    const measured = await caller.backbones.measure({ name: 'resnet-tiny.onnx', images: 16 });
    expect(measured.imagesPerSecond).toBeGreaterThan(0);
    expect(existsSync(join(dataDir, 'backbones', 'resnet-tiny.onnx'))).toBe(true);
  });
});
