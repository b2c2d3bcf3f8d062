import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetUploadRoutes } from '../server/datasets/upload.ts';
import { datasetFiles } from './datasets-fixture.ts';
import { memoryDb, tempDir } from './helpers.ts';
import { makeZip } from './zip-fixture.ts';

const db = await memoryDb();
const root = tempDir('df-up-');
const silent = { info() {}, warn() {}, error() {} } as unknown as Parameters<typeof createDatasetUploadRoutes>[0]['log'];
let server: Server;
let base = '';

beforeAll(async () => {
  const routes = createDatasetUploadRoutes({ repo: db.repo, datasetsRoot: root, log: silent, limits: { maxUploadBytes: 5_000_000 } });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    void routes(req, res, url).then((handled) => (handled ? undefined : res.writeHead(404).end()));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/datasets/uploads`;
});
afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  await db.close();
});

/** fetch bodies want a plain Uint8Array. */
function bytes(b: Buffer): Uint8Array<ArrayBuffer> {
  return new Uint8Array(b);
}

async function zipOfDataset(prefix = ''): Promise<Buffer> {
  return makeZip([...(await datasetFiles(4))].map(([name, data]) => ({ name: prefix + name, data })));
}

describe('dataset upload routes', () => {
  it('takes a zip in chunks, resumes at the right offset, and publishes version 1', async () => {
    const zip = await zipOfDataset('steel/'); // a zip of one folder is unwrapped
    const half = Math.floor(zip.length / 2);
    expect((await fetch(`${base}/upload-one/archive?offset=0`, { method: 'PUT', body: bytes(zip.subarray(0, half)) })).status).toBe(200);
    const wrong = await fetch(`${base}/upload-one/archive?offset=0`, { method: 'PUT', body: bytes(zip.subarray(half)) });
    expect(wrong.status).toBe(409);
    expect(await wrong.json()).toMatchObject({ size: half });
    expect(await (await fetch(`${base}/upload-one`)).json()).toMatchObject({ archiveBytes: half });
    expect((await fetch(`${base}/upload-one/archive?offset=${half}`, { method: 'PUT', body: bytes(zip.subarray(half)) })).status).toBe(200);
    const done = await fetch(`${base}/upload-one/finish?name=steel-a`, { method: 'POST' });
    expect(await done.json()).toMatchObject({ name: 'steel-a', version: 1, classes: ['good', 'scratch'], counts: { good: 5, scratch: 5 } });
    expect(readdirSync(join(root, 'steel-a')).sort()).toEqual(['good', 'scratch']);
    expect(existsSync(join(root, '.uploads', 'upload-one'))).toBe(false);
    expect((await db.repo.datasets.getByName('steel-a'))?.version).toBe(1);
  });

  it('refuses a name that is taken and an invalid name, with a clear message', async () => {
    await fetch(`${base}/upload-two/archive?offset=0`, { method: 'PUT', body: bytes(await zipOfDataset()) });
    const taken = await fetch(`${base}/upload-two/finish?name=steel-a`, { method: 'POST' });
    expect(taken.status).toBe(409);
    expect((await taken.json()).error).toMatch(/"steel-a" already exists/);
    const bad = await fetch(`${base}/upload-two/finish?name=../x`, { method: 'POST' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/name "..\/x" is not valid/);
  });

  it('refuses an unsafe archive and publishes nothing', async () => {
    const evil = makeZip([{ name: 'good/a.png', data: 'x' }, { name: '../evil.png', data: 'x' }]);
    await fetch(`${base}/upload-evil/archive?offset=0`, { method: 'PUT', body: bytes(evil) });
    const res = await fetch(`${base}/upload-evil/finish?name=evil`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/evil\.png/);
    expect(existsSync(join(root, 'evil'))).toBe(false);
    expect(existsSync(join(root, '..', 'evil.png'))).toBe(false);
  });

  it('refuses an upload over the byte limit', async () => {
    const res = await fetch(`${base}/upload-big/archive?offset=0`, { method: 'PUT', body: bytes(Buffer.alloc(6_000_000)) });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toMatch(/larger than the limit of 4\.8 MiB/);
  });

  it('takes a dropped folder file by file and refuses paths that escape', async () => {
    for (const [rel, data] of await datasetFiles(3)) {
      expect((await fetch(`${base}/upload-dir/file?path=${encodeURIComponent(`drop/${rel}`)}`, { method: 'PUT', body: bytes(data) })).status).toBe(200);
    }
    const escaping = await fetch(`${base}/upload-dir/file?path=${encodeURIComponent('../../x.png')}`, { method: 'PUT', body: 'x' });
    expect(escaping.status).toBe(400);
    const done = await fetch(`${base}/upload-dir/finish?name=dropped`, { method: 'POST' });
    expect(await done.json()).toMatchObject({ name: 'dropped', counts: { good: 4, scratch: 4 } });
  });
});
