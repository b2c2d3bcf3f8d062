import { mkdtempSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ArtifactStore, FsStore, listPublishedDatasets, manifestKey, materializeDataset, publishDataset } from '../src/index.ts';
import { startTestS3Server, type TestS3Server } from '../src/testing.ts';
import { counting } from './counting-store.ts';

const CHILD = fileURLToPath(new URL('./materialize-child.ts', import.meta.url));
const tmp = (what: string) => mkdtempSync(join(tmpdir(), `df-ds-${what}-`));

async function png(color: [number, number, number], size = 32): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: color[0], g: color[1], b: color[2] } } })
    .png()
    .toBuffer();
}

/** A dataset folder as the web server keeps it: class folders of PNGs plus hidden .versions/ and .added/. */
async function makeDataset(root: string, name: string): Promise<void> {
  const dir = join(root, name);
  await mkdir(join(dir, 'good'), { recursive: true });
  await mkdir(join(dir, 'scratch'), { recursive: true });
  await mkdir(join(dir, '.versions'), { recursive: true });
  await mkdir(join(dir, '.added', 'v2'), { recursive: true });
  await writeFile(join(dir, 'good', 'a.png'), await png([10, 200, 10]));
  await writeFile(join(dir, 'good', 'b.png'), await png([20, 180, 20]));
  // Same content twice: one blob.
  await writeFile(join(dir, 'scratch', 'c.png'), await png([200, 10, 10]));
  await writeFile(join(dir, 'scratch', 'c copy.png'), await png([200, 10, 10]));
  await writeFile(join(dir, '.versions', 'v1.csv'), 'id,label\ngood/a.png,good\n');
  await writeFile(join(dir, '.added', 'v2', 'd.png'), await png([0, 0, 250]));
}

async function tree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const visit = async (folder: string, rel: string) => {
    for (const e of await readdir(folder, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await visit(join(folder, e.name), r);
      else out[r] = (await readFile(join(folder, e.name))).toString('base64');
    }
  };
  await visit(dir, '');
  return out;
}

function datasetSuite(kind: string, makeStore: () => ArtifactStore) {
  describe(`content-addressed datasets over ${kind}`, () => {
    it('publish uploads each content once and the manifest last; materialize rebuilds the folder byte for byte', async () => {
      const web = tmp('web');
      await makeDataset(web, 'steel');
      const store = counting(makeStore());
      const pub = await publishDataset(store, web, 'steel');
      expect(pub).toMatchObject({ files: 6, uploadedBlobs: 5 });
      expect(store.puts.at(-1)).toBe(manifestKey('steel'));
      expect(await listPublishedDatasets(store)).toEqual(['steel']);
      // Re-publishing unchanged content uploads only the manifest.
      store.puts.length = 0;
      expect((await publishDataset(store, web, 'steel')).uploadedBlobs).toBe(0);
      expect(store.puts).toEqual([manifestKey('steel')]);

      const runner = tmp('runner');
      const cas = join(runner, 'cas');
      const got = await materializeDataset(store, join(runner, 'datasets'), 'steel', cas);
      expect(got).toMatchObject({ files: 6, fetchedBlobs: 5, placed: 6, kept: 0, removed: 0 });
      expect(await tree(join(runner, 'datasets', 'steel'))).toEqual(await tree(join(web, 'steel')));
      // The images decode as the PNGs they were.
      const meta = await sharp(join(runner, 'datasets', 'steel', '.added', 'v2', 'd.png')).metadata();
      expect([meta.format, meta.width]).toEqual(['png', 32]);
    });

    it('fetches each blob once per machine: a second materialize, a second runner or a second dataset sharing casDir fetch nothing', async () => {
      const web = tmp('web');
      await makeDataset(web, 'steel');
      await cp(join(web, 'steel'), join(web, 'steel-copy'), { recursive: true });
      const store = counting(makeStore());
      await publishDataset(store, web, 'steel');
      await publishDataset(store, web, 'steel-copy');
      const machine = tmp('machine');
      const cas = join(machine, 'cas');
      const blobGets = () => store.gets.filter((k) => k.startsWith('blobs/')).length;

      await materializeDataset(store, join(machine, 'runner1'), 'steel', cas);
      expect(blobGets()).toBe(5);
      const again = await materializeDataset(store, join(machine, 'runner1'), 'steel', cas);
      expect(again).toMatchObject({ fetchedBlobs: 0, placed: 0, kept: 6 });
      await materializeDataset(store, join(machine, 'runner2'), 'steel', cas);
      await materializeDataset(store, join(machine, 'runner1'), 'steel-copy', cas);
      expect(blobGets()).toBe(5);
      // Hard links from the cache, not copies.
      const a = await stat(join(machine, 'runner2', 'steel', 'good', 'a.png'));
      expect(a.nlink).toBeGreaterThanOrEqual(3);
    });

    it('a changed dataset: changed files replaced, new ones fetched, removed ones deleted; local tampering repaired', async () => {
      const web = tmp('web');
      await makeDataset(web, 'steel');
      const store = counting(makeStore());
      await publishDataset(store, web, 'steel');
      const runner = tmp('runner');
      const cas = join(runner, 'cas');
      const target = join(runner, 'datasets', 'steel');
      await materializeDataset(store, join(runner, 'datasets'), 'steel', cas);

      // A relabel version on the web: b moves to scratch, a new version file, c copy deleted.
      const { rename, rm } = await import('node:fs/promises');
      await rename(join(web, 'steel', 'good', 'b.png'), join(web, 'steel', 'scratch', 'b.png'));
      await writeFile(join(web, 'steel', '.versions', 'v2.csv'), 'id,label\n');
      await rm(join(web, 'steel', 'scratch', 'c copy.png'));
      await writeFile(join(web, 'steel', 'good', 'a.png'), await png([1, 2, 3]));
      const pub = await publishDataset(store, web, 'steel');
      expect(pub.uploadedBlobs).toBe(2); // new a.png + v2.csv
      // Someone edits the runner's copy (not through the cache's link: replace the file).
      await rm(join(target, '.added', 'v2', 'd.png'));
      await writeFile(join(target, '.added', 'v2', 'd.png'), 'not a png');
      await writeFile(join(target, 'stray.txt'), 'x');

      const got = await materializeDataset(store, join(runner, 'datasets'), 'steel', cas);
      expect(got).toMatchObject({ fetchedBlobs: 2, removed: 3 }); // good/b.png, scratch/c copy.png, stray.txt
      expect(await tree(target)).toEqual(await tree(join(web, 'steel')));
    });

    it('concurrent materializations of one dataset on one machine end with one correct copy', async () => {
      const web = tmp('web');
      await makeDataset(web, 'steel');
      const store = counting(makeStore());
      await publishDataset(store, web, 'steel');
      const machine = tmp('machine');
      const cas = join(machine, 'cas');
      const results = await Promise.all([1, 2, 3].map(() => materializeDataset(store, join(machine, 'datasets'), 'steel', cas)));
      expect(results.reduce((n, r) => n + r.fetchedBlobs, 0)).toBe(5);
      expect(await tree(join(machine, 'datasets', 'steel'))).toEqual(await tree(join(web, 'steel')));
      expect((await readdir(cas)).filter((n) => !n.startsWith('.')).length).toBe(5);
    });
  });
}

datasetSuite('FsStore', () => new FsStore(tmp('store')));
let s3: TestS3Server;
let n = 0;
beforeAll(async () => {
  s3 = await startTestS3Server();
});
afterAll(() => s3?.close());
datasetSuite('S3Store (s3rver)', () => s3.store(`ds${++n}`));

describe('materialize across processes', () => {
  it('two runner processes on one machine materializing the same dataset at once leave one correct copy', async () => {
    const web = tmp('web');
    await makeDataset(web, 'steel');
    const storeRoot = tmp('store');
    await publishDataset(new FsStore(storeRoot), web, 'steel');
    const machine = tmp('machine');
    const run = () =>
      new Promise<{ fetchedBlobs: number }>((resolveRun, reject) => {
        const child = spawn(process.execPath, ['--import', 'tsx', CHILD, storeRoot, join(machine, 'datasets'), 'steel', join(machine, 'cas')], {
          env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('exit', (code) => (code === 0 ? resolveRun(JSON.parse(out)) : reject(new Error(`child exited ${code}: ${err}`))));
      });
    const results = await Promise.all([run(), run()]);
    // Serialised by the lock: the second found everything in the cache.
    expect(results.map((r) => r.fetchedBlobs).sort()).toEqual([0, 5]);
    expect(await tree(join(machine, 'datasets', 'steel'))).toEqual(await tree(join(web, 'steel')));
  });
});

describe('dataset publishing refuses what it cannot reproduce', () => {
  it('a symbolic link inside the dataset is an error naming it', async () => {
    const web = tmp('web');
    await makeDataset(web, 'steel');
    await symlink('/etc/passwd', join(web, 'steel', 'good', 'evil.png'));
    await expect(publishDataset(new FsStore(tmp('store')), web, 'steel')).rejects.toThrow(/good\/evil\.png is a symbolic link/);
  });

  it('materializing an unpublished dataset, or a manifest with a path escaping the folder, is an error', async () => {
    const store = new FsStore(tmp('store'));
    await expect(materializeDataset(store, tmp('r'), 'nope', tmp('cas'))).rejects.toThrow(/dataset nope is not published/);
    await store.put(manifestKey('evil'), JSON.stringify({ version: 1, name: 'evil', files: { '../../x': { sha256: 'a'.repeat(64), size: 1 } } }));
    await expect(materializeDataset(store, tmp('r'), 'evil', tmp('cas'))).rejects.toThrow(/"\.\.\/\.\.\/x"/);
  });

  it('a blob whose content does not match its sha is refused, and nothing corrupt lands in the cache', async () => {
    const web = tmp('web');
    await makeDataset(web, 'steel');
    const store = new FsStore(tmp('store'));
    await publishDataset(store, web, 'steel');
    const blobs = await store.list('blobs/');
    await store.put(blobs[0]!.key, Buffer.alloc(blobs[0]!.size, 1));
    const cas = tmp('cas');
    await expect(materializeDataset(store, tmp('r'), 'steel', cas)).rejects.toThrow(/corrupt or replaced/);
    expect(await readdir(cas).then((n) => n.filter((x) => !x.startsWith('.')))).not.toContain(blobs[0]!.key.slice(6));
  });
});
