import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { browse } from '../server/datasets-fs.ts';
import { createFileRoutes } from '../server/http-files.ts';
import { silentLogger } from '../server/log.ts';
import { resolveInsideRoot } from '../server/paths.ts';
import { memoryDb, tempDir } from './helpers.ts';

// A valid 1x1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let db: DbHandle;
let server: Server;
let base: string;
let root: string;
let outside: string;
let modelsDir: string;

beforeAll(async () => {
  db = await memoryDb();
  const top = tempDir();
  root = join(top, 'datasets');
  outside = join(top, 'secret');
  modelsDir = join(top, 'models');
  mkdirSync(modelsDir);
  mkdirSync(join(root, 'steel', 'scratch'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(root, 'steel', 'scratch', 'a.png'), PNG);
  writeFileSync(join(root, 'steel', 'notes.txt'), 'not an image');
  writeFileSync(join(outside, 'leak.png'), PNG);
  symlinkSync(outside, join(root, 'steel', 'escape'));
  symlinkSync(join(outside, 'leak.png'), join(root, 'steel', 'scratch', 'link.png'));

  const routes = createFileRoutes({ repo: db.repo, datasetsRoot: root, modelsDir, log: silentLogger });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    void routes(req, res, url).then((handled) => {
      if (!handled) res.writeHead(404).end('not ours');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server?.close();
  await db?.close();
});

const get = (path: string) => fetch(`${base}${path}`);
const q = (params: Record<string, string>) => `/api/images?${new URLSearchParams(params)}`;

describe('/api/images', () => {
  it('serves an image of a dataset with its content type', async () => {
    const res = await get(q({ dataset: 'steel', path: 'scratch/a.png' }));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await res.arrayBuffer())).toEqual(PNG);
  });

  // Factories: `outside` is only known once beforeAll ran.
  it.each([
    ['.. out of the dataset root', () => ({ dataset: 'steel', path: '../../secret/leak.png' })],
    ['an absolute path', () => ({ dataset: 'steel', path: join(outside, 'leak.png') })],
    ['a dataset name with ..', () => ({ dataset: '..', path: 'secret/leak.png' })],
    ['a symlinked folder pointing outside', () => ({ dataset: 'steel', path: 'escape/leak.png' })],
    ['a symlinked file pointing outside', () => ({ dataset: 'steel', path: 'scratch/link.png' })],
  ])('refuses %s with 403', async (_what, params) => {
    const res = await get(q(params()));
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toMatch(/outside the allowed root/);
  });

  it('answers 404 for a missing image, 400 for a non-image or a bad query', async () => {
    expect((await get(q({ dataset: 'steel', path: 'scratch/none.png' }))).status).toBe(404);
    expect((await get(q({ dataset: 'steel', path: 'notes.txt' }))).status).toBe(400);
    expect((await get('/api/images')).status).toBe(400);
  });

  it('serves a run item by id, relative to the run dataset folder, and refuses ids escaping it', async () => {
    const graph = createDefaultPipeline();
    graph.nodes = graph.nodes.map((n) => (n.type === 'dataset' ? { ...n, params: { ...n.params, path: 'steel' } } : n));
    const run = await db.repo.runs.create({ graph });
    expect((await get(q({ run: run.id, id: 'scratch/a.png' }))).status).toBe(200);
    expect((await get(q({ run: run.id, id: '../../secret/leak.png' }))).status).toBe(403);
    expect((await get(q({ run: 'no-such-run', id: 'scratch/a.png' }))).status).toBe(404);
  });

  it('leaves other paths to the next handler', async () => {
    expect(await (await get('/api/imagesX')).text()).toBe('not ours');
  });
});

describe('/api/models/<id>/archive', () => {
  it('streams the model folder as a .tar.gz that tar extracts byte for byte', async () => {
    const dir = join(modelsDir, 'steel-v1');
    mkdirSync(join(dir, 'weights'), { recursive: true });
    const big = Buffer.alloc(70_000, 7);
    writeFileSync(join(dir, 'model.json'), '{"format":"layers-model"}');
    writeFileSync(join(dir, 'weights', 'group1.bin'), big);
    const model = await db.repo.models.create({ name: 'steel v1', dir, labels: ['a'], inputSize: 96 });

    const res = await get(`/api/models/${model.id}/archive`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/gzip');
    // `<model-name>-<short id>`: the name once, not `defect-model-defect-model-…-deploy` (issue 20 item 10).
    const rootName = `steel-v1-${model.id.slice(-8)}`;
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${rootName}.tar.gz"`);
    const archive = join(tempDir('df-archive-'), 'm.tar.gz');
    writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
    const out = tempDir('df-extract-');
    execFileSync('tar', ['-xzf', archive, '-C', out]);
    expect(readFileSync(join(out, rootName, 'model.json'), 'utf8')).toBe('{"format":"layers-model"}');
    expect(readFileSync(join(out, rootName, 'weights', 'group1.bin'))).toEqual(big);
  });

  it('404 for an unknown model', async () => {
    expect((await get('/api/models/nope/archive')).status).toBe(404);
  });

  // Rows a path-like deploy node id (or an older server) registered: the folder exists, but is not served.
  it.each([
    ['a folder outside the models dir', () => outside],
    ['a climb out of the models dir', () => join(modelsDir, 'x', '..', '..', 'secret')],
    ['a symlink in the models dir pointing out', () => join(modelsDir, 'link-out')],
    ['the models dir itself', () => modelsDir],
  ])('403 for a model whose folder is %s', async (_what, dir) => {
    symlinkSync(outside, join(modelsDir, 'link-out'), 'dir');
    try {
      const model = await db.repo.models.create({ name: 'stray', dir: dir(), labels: ['a'], inputSize: 96 });
      const res = await get(`/api/models/${model.id}/archive`);
      expect(res.status).toBe(403);
      expect(res.headers.get('content-type')).not.toBe('application/gzip');
      expect(((await res.json()) as { error: string }).error).toMatch(new RegExp(`^Model ${model.id}: .*outside the allowed root|names the models folder itself`));
    } finally {
      rmSync(join(modelsDir, 'link-out'));
    }
  });
});

describe('/api/models/<id>/model.onnx', () => {
  it('serves the ONNX export as an attachment', async () => {
    const dir = join(modelsDir, 'onnx-v1');
    mkdirSync(dir, { recursive: true });
    const bytes = Buffer.alloc(5_000, 3);
    writeFileSync(join(dir, 'model.onnx'), bytes);
    const model = await db.repo.models.create({ name: 'onnx v1', dir, labels: ['a'], inputSize: 96 });
    const res = await get(`/api/models/${model.id}/model.onnx`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="onnx-v1-${model.id.slice(-8)}.onnx"`);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
  });

  it('404 with the reason defectflow.json gives when there is no model.onnx', async () => {
    const dir = join(modelsDir, 'tiles-v1');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'defectflow.json'), JSON.stringify({ onnx: { available: false, reason: "fit 'tiles' cannot convert" } }));
    const model = await db.repo.models.create({ name: 'tiles v1', dir, labels: ['a'], inputSize: 96 });
    const res = await get(`/api/models/${model.id}/model.onnx`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: string }).error).toMatch(/no ONNX export: fit 'tiles' cannot convert/);
    expect((await get('/api/models/nope/model.onnx')).status).toBe(404);
  });

  it('refuses a folder outside the models dir (403) and a model.onnx that is a symlink (404)', async () => {
    const stray = await db.repo.models.create({ name: 'stray', dir: outside, labels: ['a'], inputSize: 96 });
    expect((await get(`/api/models/${stray.id}/model.onnx`)).status).toBe(403);
    const dir = join(modelsDir, 'linked-onnx');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(outside, 'secret.onnx'), 'secret');
    symlinkSync(join(outside, 'secret.onnx'), join(dir, 'model.onnx'));
    const model = await db.repo.models.create({ name: 'linked', dir, labels: ['a'], inputSize: 96 });
    const res = await get(`/api/models/${model.id}/model.onnx`);
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('secret');
  });
});

describe('dataset browsing', () => {
  it('lists folders with image counts and refuses paths outside the root', async () => {
    const listing = await browse(root, 'steel');
    expect(listing.path).toBe('steel');
    expect(listing.entries).toContainEqual({ name: 'scratch', kind: 'dir', imageCount: 1 });
    expect(listing.entries).toContainEqual({ name: 'notes.txt', kind: 'file' });
    await expect(browse(root, '../secret')).rejects.toThrow(/outside the allowed root/);
    expect(() => resolveInsideRoot(root, 'steel/escape')).toThrow(/symlink/);
  });
});
