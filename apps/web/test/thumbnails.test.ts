/**
 * /api/images thumbnails over real HTTP, decoded by real sharp: rendered once and then served from the disk
 * cache (ETag + 304 on revalidation), the cache held under its byte cap by evicting the least recently used,
 * and a decompression-bomb PNG (a header claiming 30000×30000) refused by the pixel limit before decoding.
 */
import { mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { hugeHeaderPng } from '@defectflow/engine/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRoutes } from '../server/http-files.ts';
import { silentLogger } from '../server/log.ts';
import { ThumbCache } from '../server/thumb-cache.ts';
import { pngBytes } from './datasets-fixture.ts';
import { memoryDb, tempDir } from './helpers.ts';

let db: DbHandle;
const servers: Server[] = [];

async function serve(thumbs: ThumbCache, root: string): Promise<string> {
  const routes = createFileRoutes({ repo: db.repo, datasetsRoot: root, modelsDir: tempDir(), log: silentLogger, thumbs });
  const server = createServer((req, res) => {
    void routes(req, res, new URL(req.url ?? '/', 'http://x')).then((handled) => handled || res.writeHead(404).end());
  });
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let root: string;
beforeAll(async () => {
  db = await memoryDb();
  root = tempDir('df-thumbs-');
  mkdirSync(join(root, 'steel', 'good'), { recursive: true });
  for (let i = 0; i < 6; i++) writeFileSync(join(root, 'steel', 'good', `${i}.png`), await pngBytes(3, i, 96));
  writeFileSync(join(root, 'steel', 'good', 'bomb.png'), hugeHeaderPng(30_000, 30_000));
});
afterAll(async () => {
  for (const s of servers) s.close();
  await db?.close();
});

const thumbUrl = (base: string, file: string, px = 32) =>
  `${base}/api/images?${new URLSearchParams({ dataset: 'steel', path: `good/${file}`, thumb: String(px) })}`;

function cacheBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

describe('thumbnail cache', () => {
  it('renders a thumbnail once: the second request is served from the disk cache, a revalidation gets 304', async () => {
    const dir = join(tempDir(), 'thumbs');
    const thumbs = new ThumbCache({ dir, maxBytes: 1024 * 1024 });
    const base = await serve(thumbs, root);
    const first = await fetch(thumbUrl(base, '0.png'));
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('image/png');
    const etag = first.headers.get('etag');
    expect(etag).toBeTruthy();
    const body = Buffer.from(await first.arrayBuffer());
    const second = await fetch(thumbUrl(base, '0.png'));
    expect(Buffer.from(await second.arrayBuffer())).toEqual(body);
    expect(thumbs.rendered).toBe(1);
    expect(readdirSync(dir)).toHaveLength(1);
    // A restarted server finds the thumbnail on disk.
    const again = new ThumbCache({ dir, maxBytes: 1024 * 1024 });
    const base2 = await serve(again, root);
    expect(Buffer.from(await (await fetch(thumbUrl(base2, '0.png'))).arrayBuffer())).toEqual(body);
    expect(again.rendered).toBe(0);
    const revalidated = await fetch(thumbUrl(base, '0.png'), { headers: { 'if-none-match': etag as string } });
    expect(revalidated.status).toBe(304);
    expect(thumbs.rendered).toBe(1);
    // A different size is a different thumbnail.
    await fetch(thumbUrl(base, '0.png', 48));
    expect(thumbs.rendered).toBe(2);
  });

  it('stays under THUMB_CACHE_MAX_BYTES, evicting the least recently used', async () => {
    const dir = join(tempDir(), 'thumbs');
    const probeBase = await serve(new ThumbCache({ dir: join(tempDir(), 'probe'), maxBytes: 1e6 }), root);
    const probe = Buffer.from(await (await fetch(thumbUrl(probeBase, '0.png'))).arrayBuffer());
    const cap = Math.floor(probe.length * 3.5); // room for three thumbnails
    const thumbs = new ThumbCache({ dir, maxBytes: cap });
    const base = await serve(thumbs, root);
    for (let i = 0; i < 6; i++) {
      expect((await fetch(thumbUrl(base, `${i}.png`))).status).toBe(200);
      if (i >= 1) await fetch(thumbUrl(base, '0.png')); // keeps 0.png recently used
      expect(cacheBytes(dir)).toBeLessThanOrEqual(cap);
    }
    expect(thumbs.bytes).toBeLessThanOrEqual(cap);
    expect(readdirSync(dir).length).toBeLessThanOrEqual(3);
    const rendered = thumbs.rendered;
    await fetch(thumbUrl(base, '0.png')); // used all along: still cached
    await fetch(thumbUrl(base, '5.png')); // the newest: still cached
    expect(thumbs.rendered).toBe(rendered);
    await fetch(thumbUrl(base, '1.png')); // the oldest: evicted, rendered again
    expect(thumbs.rendered).toBe(rendered + 1);
  });

  it('refuses a PNG whose header claims 30000×30000 pixels with the pixel-limit message, without decoding it', async () => {
    const thumbs = new ThumbCache({ dir: join(tempDir(), 'thumbs'), maxBytes: 1024 * 1024 });
    const base = await serve(thumbs, root);
    const res = await fetch(thumbUrl(base, 'bomb.png'));
    expect(res.status).toBe(422);
    expect((await res.json()).error).toMatch(
      /image "good\/bomb\.png" cannot be shown: .*30000×30000 = 900\.0 megapixels is over the image pixel limit of 100\.0 megapixels \(IMAGE_MAX_PIXELS\)/,
    );
    expect(thumbs.bytes).toBe(0);
    // The server goes on serving.
    expect((await fetch(thumbUrl(base, '1.png'))).status).toBe(200);
  });
});
