import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectDataset } from '../server/datasets/inspect.ts';
import { createDatasetUploadRoutes } from '../server/datasets/upload.ts';
import { datasetFiles, pngBytes } from './datasets-fixture.ts';
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

describe('adding images to an existing dataset (POST …/add?dataset=)', () => {
  const put = (id: string, zip: Buffer) => fetch(`${base}/${id}/archive?offset=0`, { method: 'PUT', body: bytes(zip) });
  const add = (id: string, dataset: string) => fetch(`${base}/${id}/add?dataset=${encodeURIComponent(dataset)}`, { method: 'POST' });

  it('merges class folders into the next version; the version before keeps its images and the files never move', async () => {
    await put('add-base-1', await zipOfDataset());
    expect((await fetch(`${base}/add-base-1/finish?name=grow`, { method: 'POST' })).status).toBe(200);
    const zip = makeZip([
      { name: 'more/scratch/new0.png', data: await pngBytes(7, 0) }, // one top folder: unwrapped
      { name: 'more/scratch/new1.png', data: await pngBytes(7, 1) },
      { name: 'more/dent/d0.png', data: await pngBytes(8, 0) },
      { name: 'more/scratch/notes.txt', data: 'notes' },
    ]);
    await put('add-one-1', zip);
    const res = await add('add-one-1', 'grow');
    const body = await res.json();
    expect(res.status).toBe(200);
    expect(body).toMatchObject({
      name: 'grow',
      version: 2,
      classes: ['dent', 'good', 'scratch'],
      counts: { good: 5, scratch: 7, dent: 1 },
      added: { scratch: 2, dent: 1 },
      newClasses: ['dent'],
    });
    expect(body.notes.join(' ')).toMatch(/without an image extension/);
    expect(existsSync(join(root, '.uploads', 'add-one-1'))).toBe(false);
    // Version 1 is still the folder as uploaded; version 2 lists the new files in the hidden .added/v2 folder.
    expect(readdirSync(join(root, 'grow')).filter((n) => !n.startsWith('.')).sort()).toEqual(['good', 'scratch']);
    expect(readdirSync(join(root, 'grow', 'scratch')).sort()).toEqual(['dup.png', 'img0.png', 'img1.png', 'img2.png', 'img3.png']);
    const v1 = await inspectDataset(root, 'grow', 1);
    expect(v1.counts).toEqual({ good: 5, scratch: 5 });
    const v2 = await inspectDataset(root, 'grow', 2);
    expect(v2.items.filter((i) => i.className === 'dent').map((i) => i.id)).toEqual(['.added/v2/dent/d0.png']);
    const rows = await db.repo.datasets.versions((await db.repo.datasets.getByName('grow'))!.id);
    expect(rows.find((r) => r.version === 2)?.message).toBe('Added 3 image(s): dent +1 (new class), scratch +2');
  });

  it('refuses files named like an image already in their class, naming them, and adds nothing', async () => {
    await put('add-same-1', makeZip([
      { name: 'scratch/img1.png', data: await pngBytes(9, 0) },
      { name: 'scratch/new0.png', data: await pngBytes(9, 1) }, // added in version 2
      { name: 'good/other.png', data: await pngBytes(9, 2) },
    ]));
    const res = await add('add-same-1', 'grow');
    expect(res.status).toBe(409);
    expect((await res.json()).error).toBe(
      '2 file(s) have the name of an image already in their class, so nothing was added: scratch/img1.png, scratch/new0.png. ' +
        'Rename them, or leave them out if they are images the dataset already has.',
    );
    expect((await inspectDataset(root, 'grow', 0)).version).toBe(2);
    expect(readdirSync(join(root, 'grow', '.added'))).toEqual(['v2']);
    expect(existsSync(join(root, '.uploads', 'add-same-1'))).toBe(false);
  });

  it('refuses unreadable images and loose images by name, and an unknown dataset', async () => {
    await put('add-bad-1', makeZip([{ name: 'good/ok.png', data: await pngBytes(10, 0) }, { name: 'good/broken.png', data: 'not a png' }]));
    const bad = await add('add-bad-1', 'grow');
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatch(/^1 file\(s\) are not readable images, so nothing was added: good\/broken\.png \(/);
    await put('add-loose-1', makeZip([{ name: 'loose.png', data: await pngBytes(10, 1) }, { name: 'good/x.png', data: await pngBytes(10, 2) }]));
    const loose = await add('add-loose-1', 'grow');
    expect((await loose.json()).error).toBe('1 image(s) are not in a class folder: loose.png. Put each image in a folder named after its class');
    await put('add-none-1', await zipOfDataset());
    const none = await add('add-none-1', 'no-such');
    expect(none.status).toBe(404);
    expect((await none.json()).error).toBe('Dataset "no-such" does not exist under the datasets folder');
    expect((await inspectDataset(root, 'grow', 0)).version).toBe(2);
  });
});
