/**
 * Bounded uploads over real HTTP: the staging quota across upload ids, open uploads, the per-upload lock,
 * idle expiry, cleanup after a failed unpack, and whole-archive zip bombs made of small entries.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listDatasets } from '../server/datasets-fs.ts';
import { createDatasetUploadRoutes, type UploadLimits } from '../server/datasets/upload.ts';
import { silentLogger } from '../server/log.ts';
import { datasetFiles } from './datasets-fixture.ts';
import { memoryDb, tempDir } from './helpers.ts';
import { makeZip } from './zip-fixture.ts';

const db = await memoryDb();
const open: Array<{ server: Server; close(): void }> = [];

async function startRoutes(limits: Partial<UploadLimits>, sweepEveryMs?: number) {
  const root = tempDir('df-uplim-');
  const routes = createDatasetUploadRoutes({ repo: db.repo, datasetsRoot: root, log: silentLogger, limits, sweepEveryMs });
  const server = createServer((req, res) => {
    void routes(req, res, new URL(req.url ?? '/', 'http://x')).then((handled) => (handled ? undefined : res.writeHead(404).end()));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  open.push({ server, close: routes.close });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/datasets/uploads`;
  return { root, routes, base };
}

afterEach(async () => {
  for (const o of open.splice(0)) {
    o.close();
    await new Promise((ok) => o.server.close(ok));
  }
});

function put(url: string, body: Buffer | string) {
  return fetch(url, { method: 'PUT', body: typeof body === 'string' ? body : new Uint8Array(body) });
}

/** What a listing shows: the visible entries of DATASETS_ROOT and the upload folders in staging. */
function leftovers(root: string): { visible: string[]; staging: string[] } {
  const staging = join(root, '.uploads');
  return {
    visible: readdirSync(root).filter((n) => !n.startsWith('.')),
    staging: existsSync(staging) ? readdirSync(staging) : [],
  };
}

async function zipOfDataset(): Promise<Buffer> {
  return makeZip([...(await datasetFiles(3))].map(([name, data]) => ({ name, data })));
}

describe('upload limits', () => {
  it('refuses bytes past the global staging quota across two upload ids, naming UPLOAD_STAGING_MAX_BYTES', async () => {
    const { base, root } = await startRoutes({ maxUploadBytes: 10_000, maxStagingBytes: 15_000 });
    expect((await put(`${base}/upload-aaaa/archive?offset=0`, Buffer.alloc(9_000, 1))).status).toBe(200);
    // Each upload is under its own cap; together they pass the staging quota.
    const second = await put(`${base}/upload-bbbb/archive?offset=0`, Buffer.alloc(9_000, 2));
    expect(second.status).toBe(507);
    expect((await second.json()).error).toMatch(/staging is full: 8\.8 KiB of 14\.6 KiB \(UPLOAD_STAGING_MAX_BYTES\)/);
    // The refused upload is gone; the first one is intact and can continue.
    expect(leftovers(root).staging).toEqual(['upload-aaaa']);
    expect(await (await fetch(`${base}/upload-aaaa`)).json()).toMatchObject({ archiveBytes: 9_000 });
    expect((await put(`${base}/upload-cccc/archive?offset=0`, Buffer.alloc(5_000, 3))).status).toBe(200);
  });

  it('refuses a new upload past UPLOAD_MAX_OPEN, and takes it once one is cancelled', async () => {
    const { base } = await startRoutes({ maxOpen: 2 });
    expect((await put(`${base}/open-0001/archive?offset=0`, 'a')).status).toBe(200);
    expect((await put(`${base}/open-0002/file?path=a/b.png`, 'b')).status).toBe(200);
    const third = await put(`${base}/open-0003/archive?offset=0`, 'c');
    expect(third.status).toBe(429);
    expect((await third.json()).error).toMatch(/2 uploads are already open, the limit is 2 \(UPLOAD_MAX_OPEN\)/);
    expect((await fetch(`${base}/open-0001`, { method: 'DELETE' })).status).toBe(200);
    expect((await put(`${base}/open-0003/archive?offset=0`, 'c')).status).toBe(200);
  });

  it('lets exactly one of two concurrent chunks at the same offset append; the other gets 409 with the size', async () => {
    const { base, root } = await startRoutes({});
    const url = `${base}/same-offset/archive?offset=0`;
    // The first chunk is still streaming (its body not finished) when the second arrives.
    let finishFirst!: () => void;
    const first = fetch(url, {
      method: 'PUT',
      duplex: 'half',
      body: new ReadableStream<Uint8Array>({
        async start(controller) {
          controller.enqueue(new Uint8Array(1000).fill(1));
          await new Promise<void>((ok) => (finishFirst = ok));
          controller.enqueue(new Uint8Array(1000).fill(1));
          controller.close();
        },
      }),
    } as RequestInit);
    // Wait until the first request holds the upload (its folder exists), then race it.
    for (let i = 0; i < 200 && !existsSync(join(root, '.uploads', 'same-offset', 'archive.zip')); i++) await new Promise((r) => setTimeout(r, 10));
    const second = await put(url, Buffer.alloc(1500, 2));
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: expect.stringMatching(/busy with another request/), size: expect.any(Number) });
    finishFirst();
    expect(await (await first).json()).toEqual({ size: 2000 });
    // Sent again at the same offset after the first finished: 409 with the offset to send at.
    const late = await put(url, Buffer.alloc(1500, 2));
    expect(late.status).toBe(409);
    expect(await late.json()).toMatchObject({ size: 2000 });
    expect(await (await fetch(`${base}/same-offset`)).json()).toMatchObject({ archiveBytes: 2000 });
  });

  it('deletes uploads idle longer than the TTL, and only those', async () => {
    const { base, root, routes } = await startRoutes({ ttlMs: 300 }, 50);
    expect((await put(`${base}/idle-0001/archive?offset=0`, 'x')).status).toBe(200);
    for (let i = 0; i < 200 && leftovers(root).staging.length > 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(leftovers(root).staging).toEqual([]);
    expect(routes.staging.openCount).toBe(0);
    // A fresh upload is kept by a sweep that runs before its TTL.
    expect((await put(`${base}/idle-0002/archive?offset=0`, 'y')).status).toBe(200);
    expect(await routes.staging.sweep(Date.now() + 100)).toEqual([]);
    expect(await routes.staging.sweep(Date.now() + 1000)).toEqual(['idle-0002']);
  });

  it('a failed unpack leaves nothing in DATASETS_ROOT, in staging or in the dataset list', async () => {
    const { base, root } = await startRoutes({});
    const good = [...(await datasetFiles(3))].map(([name, data]) => ({ name, data }));
    // Valid entries are written first; the last one's deflate stream is garbage, so extraction fails midway.
    const zip = makeZip([...good, { name: 'scratch/broken.png', data: randomBytes(4000), deflate: true }]);
    const broken = Buffer.from(zip);
    const at = broken.indexOf(Buffer.from('scratch/broken.png')) + 'scratch/broken.png'.length; // local header's name
    broken.fill(0xff, at, at + 4); // block type 11: "invalid block type" when inflated
    expect((await put(`${base}/broken-zip/archive?offset=0`, broken)).status).toBe(200);
    const res = await fetch(`${base}/broken-zip/finish?name=halfway`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/Archive entry "scratch\/broken\.png" could not be unpacked/);
    expect(leftovers(root)).toEqual({ visible: [], staging: [] });
    expect(await listDatasets(root)).toEqual([]);
    // A good upload afterwards still works.
    expect((await put(`${base}/good-zip1/archive?offset=0`, await zipOfDataset())).status).toBe(200);
    expect((await fetch(`${base}/good-zip1/finish?name=fine`, { method: 'POST' })).status).toBe(200);
    expect(leftovers(root)).toEqual({ visible: ['fine'], staging: [] });
  });

  it('an upload that is not a dataset is removed from staging at once', async () => {
    const { base, root } = await startRoutes({});
    expect((await put(`${base}/not-data1/archive?offset=0`, makeZip([{ name: 'readme.txt', data: 'hello' }]))).status).toBe(200);
    const res = await fetch(`${base}/not-data1/finish?name=nodata`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/not a usable dataset/);
    expect(leftovers(root)).toEqual({ visible: [], staging: [] });
  });

  it('refuses a zip of many small, highly compressible entries by its whole-archive ratio, naming UPLOAD_MAX_RATIO', async () => {
    const { base, root } = await startRoutes({});
    // 300 entries of 32 KiB zeros: each far under 1 MiB, together ≈ 9.4 MiB from a few KiB.
    const entries = Array.from({ length: 300 }, (_, i) => ({ name: `good/${i}.bmp`, data: Buffer.alloc(32 * 1024), deflate: true }));
    expect((await put(`${base}/small-bomb/archive?offset=0`, makeZip(entries))).status).toBe(200);
    const res = await fetch(`${base}/small-bomb/finish?name=bomb`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/expands \d+× as a whole .*300 entries; limit 200×, UPLOAD_MAX_RATIO/);
    expect(leftovers(root)).toEqual({ visible: [], staging: [] });
  });

  it('refuses the unpacked size of an archive that would pass the staging quota while it is unpacked', async () => {
    const { base, root } = await startRoutes({ maxStagingBytes: 100_000, maxRatio: 1e9 });
    // 30 KiB on the wire, 200 KiB unpacked: the reservation for unpacking does not fit.
    const entries = Array.from({ length: 4 }, (_, i) => ({ name: `good/${i}.bmp`, data: Buffer.alloc(50_000, i), deflate: true }));
    expect((await put(`${base}/unpack-big/archive?offset=0`, makeZip(entries))).status).toBe(200);
    const res = await fetch(`${base}/unpack-big/finish?name=big`, { method: 'POST' });
    expect(res.status).toBe(507);
    expect((await res.json()).error).toMatch(/UPLOAD_STAGING_MAX_BYTES/);
    expect(leftovers(root)).toEqual({ visible: [], staging: [] });
  });

  it('never lists a folder being generated (".partial-") or staged, and refuses such a dataset name', async () => {
    const { base, root } = await startRoutes({});
    expect((await put(`${base}/listing-1/archive?offset=0`, await zipOfDataset())).status).toBe(200);
    expect((await fetch(`${base}/listing-1/finish?name=real`, { method: 'POST' })).status).toBe(200);
    const { writeDataset } = await import('./datasets-fixture.ts');
    writeDataset(root, 'sample-steel.partial-123-456', await datasetFiles(2));
    writeDataset(join(root, '.uploads'), 'unfinished', await datasetFiles(2));
    expect((await listDatasets(root)).map((d) => d.name)).toEqual(['real']);
    expect((await put(`${base}/listing-2/archive?offset=0`, await zipOfDataset())).status).toBe(200);
    const res = await fetch(`${base}/listing-2/finish?name=x.partial-1`, { method: 'POST' });
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(/reserved for folders being written/);
  });
});
