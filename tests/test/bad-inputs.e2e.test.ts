/**
 * Bad inputs through the real web API (dataset uploads over HTTP, graphs through tRPC runs.start), with the
 * production web server, its embedded runner and PGlite. Every image is made at test time (sharp, or bytes
 * written by hand). Each case asserts what the user sees — an error code and a message naming the
 * field/file/node, or a warning naming the file while the rest still trains — and that nothing saved was
 * lost (runs, events, models, datasets, pipelines before and after), and prints one `RELIABILITY {…}` line.
 */
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import type { RunEvent } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { badImageSet } from '../src/bad-images.ts';
import type { AppHandle } from '../src/harness.ts';
import { counts, endApp, expectNothingLost, quickGraph, report, runToEnd, type Snapshot, snapshot, startAppWithRunner } from '../src/reliability.ts';
import {
  cancelUpload,
  entriesOf,
  type FixtureEntry,
  finishUpload,
  makeZip,
  newUploadId,
  putChunk,
  slowBody,
  uploadStatus,
  uploadZip,
} from '../src/uploads.ts';

const GROUP = 'bad inputs';
const MiB = 1024 * 1024;
const CLASSES = ['crazing', 'inclusion', 'scratches'] as const;

interface GraphError {
  code: string;
  message: string;
  nodeId?: string;
  field?: string;
}

describe('bad inputs: images, datasets, graphs and uploads through the web API', () => {
  let app: AppHandle;
  let work: string;
  /** Good images per class, as zip entries `<class>/<file>`. */
  let good: FixtureEntry[];

  /** Tries one bad input: the snapshot before, the answer, the snapshot after (nothing lost), a report line. */
  async function attempt<T>(name: string, fn: () => Promise<T>, figures: (result: T, before: Snapshot, after: Snapshot) => Record<string, unknown>) {
    const before = await snapshot(app);
    const result = await fn();
    const after = await snapshot(app);
    expectNothingLost(before, after);
    report(GROUP, name, { ...figures(result, before, after), before: counts(before), after: counts(after) });
    return { result, before, after };
  }

  async function startGraph(graph: unknown): Promise<{ ok: boolean; runId?: string; errors?: GraphError[] }> {
    return app.trpc('runs.start', { graph }, 'mutation');
  }

  /** The run's warnings as the run page shows them (node.log warn lines). */
  const warnings = (events: RunEvent[]) =>
    events.flatMap((e) => (e.type === 'node.log' && (e.level === 'warn' || e.level === 'error') ? [e.message] : []));

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'defectflow-bad-inputs-'));
    // Small upload limits so oversized uploads are cheap to try; everything good fits easily.
    app = await startAppWithRunner({ env: { UPLOAD_MAX_BYTES: String(3 * MiB), UPLOAD_STAGING_MAX_BYTES: String(5 * MiB) } });
    const src = join(work, 'good');
    await generateSampleDataset(src, { perClass: 8, size: 48, seed: 21, classes: [...CLASSES] });
    good = entriesOf(src).filter((e) => e.name.endsWith('.png'));
    // Something saved that every bad input must leave alone: a dataset and a finished run with a model.
    const up = await uploadZip(app, 'baseline', makeZip(good));
    expect(up.status, JSON.stringify(up.body)).toBe(200);
    const run = await runToEnd(app, quickGraph('baseline', { epochs: 2 }, { name: 'bad-inputs-baseline', gateMetric: 'none' }));
    expect(run.run.status, run.run.error ?? '').toBe('succeeded');
  });

  afterAll(async () => {
    await endApp(app, 'bad-inputs');
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('corrupt, truncated, zero-byte and huge images are named and skipped; 16-bit, CMYK, palette and 1×1 images train', async () => {
    const bad = await badImageSet();
    const entries = [...good, ...bad.map((b, i) => ({ name: `${CLASSES[i % CLASSES.length]}/${b.name}`, data: b.data }))];
    const skipped = bad.filter((b) => b.expect === 'skipped').map((b) => b.name);
    const kept = bad.filter((b) => b.expect === 'kept').map((b) => b.name);
    await attempt(
      'corrupt, truncated, zero-byte, huge (30000×30000 header), 16-bit, CMYK, palette, 1×1 images',
      async () => {
        const up = await uploadZip(app, 'odd-images', makeZip(entries));
        expect(up.status, JSON.stringify(up.body)).toBe(200);
        expect(up.body.images).toBe(good.length + kept.length);
        const inspection = await app.trpc<{ items: { id: string }[]; warnings: { code: string; message: string; files: string[] }[] }>(
          'datasets.inspect',
          { name: 'odd-images' },
        );
        const unreadable = inspection.warnings.find((w) => w.code === 'unreadable_files');
        for (const name of skipped) expect(unreadable?.files.some((f) => f.endsWith(name)), `${name} not named: ${JSON.stringify(unreadable)}`).toBe(true);
        for (const name of kept) expect(inspection.items.some((i) => i.id.endsWith(name)), `${name} not kept`).toBe(true);
        // Training on it: the bad files are named in the run's warnings, the rest trains to the end.
        const run = await runToEnd(app, quickGraph('odd-images', { epochs: 2 }));
        expect(run.run.status, run.run.error ?? '').toBe('succeeded');
        const said = warnings(run.events).join('\n');
        for (const name of skipped) expect(said).toContain(name);
        const dataset = run.events.find((e) => e.type === 'node.finished' && e.nodeId === 'dataset');
        expect(dataset?.type === 'node.finished' && dataset.summary.images).toBe(good.length + kept.length);
        return { unreadable, run, said };
      },
      ({ unreadable, run }) => ({
        files: entries.length,
        skipped: unreadable?.files,
        warning: unreadable?.message,
        trained: run.run.status,
        runWarnings: warnings(run.events).length,
      }),
    );
  });

  it('an empty class folder is left out with a warning; a single-class dataset is refused, as an upload and in a run', async () => {
    const two = good.filter((e) => !e.name.startsWith('inclusion/'));
    await attempt(
      'empty class folder',
      async () => {
        const up = await uploadZip(app, 'with-empty-class', makeZip([...two, { name: 'empty/' }]));
        expect(up.status, JSON.stringify(up.body)).toBe(200);
        expect(up.body.classes).toEqual(['crazing', 'scratches']);
        const inspection = await app.trpc<{ warnings: { code: string; message: string }[] }>('datasets.inspect', { name: 'with-empty-class' });
        const empty = inspection.warnings.find((w) => w.code === 'empty_class');
        expect(empty?.message).toContain('empty');
        return empty;
      },
      (empty) => ({ uploaded: 200, warning: empty?.message }),
    );
    const one = good.filter((e) => e.name.startsWith('crazing/'));
    await attempt(
      'single-class dataset',
      async () => {
        const up = await uploadZip(app, 'one-class', makeZip(one));
        expect(up.status).toBe(400);
        expect(up.body.error).toMatch(/crazing/);
        expect(up.body.error).toMatch(/at least 2/);
        // Named by the upload's dataset name, not by the server's staging folder.
        expect(up.body.error).toContain('"one-class"');
        expect(up.body.error).not.toMatch(/\.uploads|extract/);
        expect(existsSync(join(app.datasetsRoot, 'one-class'))).toBe(false);
        expect((await uploadStatus(app, up.id)).body).toMatchObject({ archiveBytes: 0 });
        // The same folder copied under DATASETS_ROOT by hand: the run fails at the dataset node, saying why.
        const dir = join(app.datasetsRoot, 'one-class-copied', 'crazing');
        mkdirSync(dir, { recursive: true });
        for (const e of one) writeFileSync(join(dir, e.name.split('/')[1] as string), e.data as Buffer);
        const run = await runToEnd(app, quickGraph('one-class-copied'));
        expect(run.run.status).toBe('failed');
        expect(run.run.error).toMatch(/dataset node "dataset".*at least 2/);
        return { upload: up, run };
      },
      ({ upload, run }) => ({ upload: upload.status, uploadError: upload.body.error, run: run.run.status, runError: run.run.error }),
    );
  });

  it('symlinks out of DATASETS_ROOT: refused inside a zip; skipped and not served in a copied dataset', async () => {
    await attempt(
      'symlink entry in an uploaded zip',
      async () => {
        const up = await uploadZip(app, 'linked', makeZip([...good, { name: 'crazing/passwd.png', data: '/etc/passwd', mode: 0o120777 }]));
        expect(up.status).toBe(400);
        expect(up.body.error).toMatch(/crazing\/passwd\.png.*symbolic link/);
        expect(existsSync(join(app.datasetsRoot, 'linked'))).toBe(false);
        return up;
      },
      (up) => ({ upload: up.status, error: up.body.error }),
    );
    await attempt(
      'symlinks in a copied dataset',
      async () => {
        const outside = join(work, 'outside');
        mkdirSync(join(outside, 'secret-class'), { recursive: true });
        const img = good[0]!.data as Buffer;
        writeFileSync(join(outside, 'secret.png'), img);
        for (let i = 0; i < 3; i++) writeFileSync(join(outside, 'secret-class', `s${i}.png`), img);
        const copied = join(app.datasetsRoot, 'copied');
        for (const e of good.filter((x) => !x.name.startsWith('inclusion/'))) {
          mkdirSync(join(copied, e.name.split('/')[0] as string), { recursive: true });
          writeFileSync(join(copied, e.name), e.data as Buffer);
        }
        symlinkSync(join(outside, 'secret.png'), join(copied, 'crazing', 'leak.png'));
        symlinkSync(join(outside, 'secret-class'), join(copied, 'outside-class'));
        const inspection = await app.trpc<{ classes: string[]; warnings: { code: string; files: string[] }[] }>('datasets.inspect', {
          name: 'copied',
        });
        const outsideWarning = inspection.warnings.find((w) => w.code === 'path_outside_root');
        expect(outsideWarning?.files).toEqual(expect.arrayContaining(['crazing/leak.png', 'outside-class']));
        expect(inspection.classes).toEqual(['crazing', 'scratches']);
        const served = await fetch(`${app.url}/api/images?dataset=copied&path=crazing/leak.png`);
        expect(served.status).toBe(403);
        const run = await runToEnd(app, quickGraph('copied', { epochs: 2 }));
        expect(run.run.status, run.run.error ?? '').toBe('succeeded');
        const dataset = run.events.find((e) => e.type === 'node.finished' && e.nodeId === 'dataset');
        expect(dataset?.type === 'node.finished' && dataset.summary.images).toBe(16);
        return { outsideWarning, served: served.status, run };
      },
      ({ outsideWarning, served, run }) => ({ skipped: outsideWarning?.files, imageRoute: served, trained: run.run.status }),
    );
  });

  it('label conflicts: the same file in two classes is warned about and trains; a CSV labelling a file twice is refused', async () => {
    const dup = good.find((e) => e.name.startsWith('crazing/'))!;
    await attempt(
      'same file in two classes',
      async () => {
        const up = await uploadZip(app, 'dup-labels', makeZip([...good, { name: 'scratches/copy-of-crazing.png', data: dup.data }]));
        expect(up.status, JSON.stringify(up.body)).toBe(200);
        const inspection = await app.trpc<{ warnings: { code: string; files: string[] }[] }>('datasets.inspect', { name: 'dup-labels' });
        const warning = inspection.warnings.find((w) => w.code === 'duplicates_across_classes');
        expect(warning?.files).toEqual(expect.arrayContaining([dup.name, 'scratches/copy-of-crazing.png']));
        const run = await runToEnd(app, quickGraph('dup-labels', { epochs: 2 }));
        expect(run.run.status, run.run.error ?? '').toBe('succeeded');
        expect(warnings(run.events).join('\n')).toContain('copy-of-crazing.png');
        return { warning, run };
      },
      ({ warning, run }) => ({ warned: warning?.files, trained: run.run.status }),
    );
    await attempt(
      'CSV with conflicting labels',
      async () => {
        const images = good.map((e) => ({ name: `images/${e.name.replace('/', '-')}`, data: e.data }));
        const rows = good.map((e) => `images/${e.name.replace('/', '-')},${e.name.split('/')[0]}`);
        const conflict = `images/${dup.name.replace('/', '-')},scratches`;
        const csv = ['path,label', ...rows, conflict].join('\n');
        const up = await uploadZip(app, 'csv-conflict', makeZip([...images, { name: 'labels.csv', data: csv }]));
        expect(up.status).toBe(400);
        expect(up.body.error).toMatch(new RegExp(`labels\\.csv line ${rows.length + 2}: "images/${dup.name.replace('/', '-')}" is already listed on line \\d+`));
        expect(existsSync(join(app.datasetsRoot, 'csv-conflict'))).toBe(false);
        return up;
      },
      (up) => ({ upload: up.status, error: up.body.error }),
    );
  });

  it('malformed graphs are refused with codes naming the node; nothing is recorded or written', async () => {
    const base = () => quickGraph('baseline');
    const cases: { name: string; graph: () => unknown; code: string; nodeId?: string }[] = [
      {
        name: 'cycle',
        code: 'cycle',
        graph: () => {
          const g = base();
          g.edges.push({ id: 'back', source: 'train', sourceHandle: 'trained', target: 'head', targetHandle: 'backbone' });
          return g;
        },
      },
      {
        name: 'unknown node type',
        code: 'unknown_node_type',
        nodeId: 'mystery',
        graph: () => {
          const g = base();
          g.nodes.push({ id: 'mystery', type: 'quantum-annealer', params: {}, position: { x: 0, y: 0 } });
          return g;
        },
      },
      {
        name: 'wrong port type',
        code: 'port_type_mismatch',
        nodeId: 'train',
        graph: () => {
          const g = base();
          const e = g.edges.find((x) => x.target === 'train' && x.targetHandle === 'model')!;
          Object.assign(e, { source: 'dataset', sourceHandle: 'dataset' });
          return g;
        },
      },
      {
        name: '10k nodes',
        code: 'graph_too_large',
        graph: () => {
          const g = base();
          for (let i = 0; i < 10_000; i++) g.nodes.push({ id: `n${i}`, type: 'augment', params: {}, position: { x: i, y: 0 } });
          return g;
        },
      },
      {
        name: 'path-like node id x/../../etc',
        code: 'invalid_id',
        nodeId: 'x/../../etc',
        graph: () => {
          const g = base();
          for (const n of g.nodes) if (n.id === 'evaluate') n.id = 'x/../../etc';
          for (const e of g.edges) {
            if (e.source === 'evaluate') e.source = 'x/../../etc';
            if (e.target === 'evaluate') e.target = 'x/../../etc';
          }
          return g;
        },
      },
    ];
    const runsDirBefore = readdirSync(join(app.dataDir, 'runs')).sort();
    for (const c of cases) {
      await attempt(
        `graph: ${c.name}`,
        async () => {
          const res = await startGraph(c.graph());
          expect(res.ok).toBe(false);
          expect(res.runId).toBeUndefined();
          const error = res.errors?.find((e) => e.code === c.code);
          expect(error, `${c.name}: ${JSON.stringify(res.errors?.slice(0, 3))}`).toBeDefined();
          if (c.nodeId) expect(error?.nodeId).toBe(c.nodeId);
          expect(error?.message.length).toBeGreaterThan(10);
          return { error, total: res.errors?.length ?? 0 };
        },
        ({ error, total }) => ({ code: error?.code, nodeId: error?.nodeId, message: error?.message, errors: total }),
      );
    }
    // A pipeline with a path-like id cannot be saved either, and no folder was created anywhere.
    const productLineId = (await app.trpc<{ id: string }[]>('productLines.list'))[0]!.id;
    const pathLike = cases.at(-1)!.graph();
    await expect(app.trpc('pipelines.save', { productLineId, name: 'climb', graph: pathLike }, 'mutation')).rejects.toThrow(/BAD_REQUEST/);
    expect(readdirSync(join(app.dataDir, 'runs')).sort()).toEqual(runsDirBefore);
    expect(existsSync(join(app.dataDir, 'etc'))).toBe(false);
    expect(existsSync(join(app.dataDir, 'models', 'etc'))).toBe(false);
  });

  it('oversized uploads: a chunk over UPLOAD_MAX_BYTES and uploads over UPLOAD_STAGING_MAX_BYTES are refused, naming the limit', async () => {
    await attempt(
      'oversized upload',
      async () => {
        const big = await putChunk(app, newUploadId(), 0, Buffer.alloc(4 * MiB, 1));
        expect(big.status).toBe(413);
        expect(big.body.error).toMatch(/UPLOAD_MAX_BYTES/);
        // In chunks: the chunk that crosses the limit is refused and the upload is dropped.
        const id = newUploadId();
        expect((await putChunk(app, id, 0, Buffer.alloc(2 * MiB, 1))).status).toBe(200);
        const second = await putChunk(app, id, 2 * MiB, Buffer.alloc(2 * MiB, 1));
        expect(second.status).toBe(413);
        expect((await uploadStatus(app, id)).body).toMatchObject({ archiveBytes: 0 });
        // Many upload ids together: the global staging quota, not only the per-upload one.
        const a = newUploadId();
        const b = newUploadId();
        expect((await putChunk(app, a, 0, Buffer.alloc(2.5 * MiB, 1))).status).toBe(200);
        expect((await putChunk(app, b, 0, Buffer.alloc(2 * MiB, 1))).status).toBe(200);
        const third = await putChunk(app, newUploadId(), 0, Buffer.alloc(1 * MiB, 1));
        expect(third.status).toBe(507);
        expect(third.body.error).toMatch(/UPLOAD_STAGING_MAX_BYTES/);
        await cancelUpload(app, a);
        await cancelUpload(app, b);
        return { big, second, third };
      },
      ({ big, second, third }) => ({
        single: `${big.status} ${big.body.error}`,
        chunked: second.status,
        staging: `${third.status} ${third.body.error}`,
      }),
    );
  });

  it('a zip bomb of many small, highly compressible entries is refused before it is unpacked', async () => {
    await attempt(
      'zip bomb (many small entries)',
      async () => {
        const zeros = Buffer.alloc(600 * 1024);
        const entries = Array.from({ length: 300 }, (_, i) => ({ name: `crazing/blank-${i}.png`, data: zeros, deflate: true }));
        const zip = makeZip([...good, ...entries]);
        const stagingBefore = readdirSync(app.datasetsRoot);
        const up = await uploadZip(app, 'bomb', zip);
        expect(up.status).toBe(400);
        expect(up.body.error).toMatch(/UPLOAD_MAX_RATIO/);
        expect(existsSync(join(app.datasetsRoot, 'bomb'))).toBe(false);
        expect(readdirSync(app.datasetsRoot)).toEqual(stagingBefore);
        return { up, packed: zip.length, unpacked: 300 * zeros.length };
      },
      ({ up, packed, unpacked }) => ({ packedBytes: packed, unpackedBytes: unpacked, upload: up.status, error: up.body.error }),
    );
  });

  it('two chunks at the same offset at once: one is stored, the other refused; the archive holds one copy', async () => {
    await attempt(
      'concurrent chunks at the same offset',
      async () => {
        const zip = makeZip(good);
        const id = newUploadId();
        // Both bodies trickle for ~600 ms, so the two requests overlap on the server.
        const [a, b] = await Promise.all([
          putChunk(app, id, 0, slowBody(zip, 600), zip.length),
          new Promise((r) => setTimeout(r, 100)).then(() => putChunk(app, id, 0, slowBody(zip, 600), zip.length)),
        ]);
        const statuses = [a.status, b.status].sort();
        expect(statuses).toEqual([200, 409]);
        expect((await uploadStatus(app, id)).body).toMatchObject({ archiveBytes: zip.length });
        const done = await finishUpload(app, id, 'raced');
        expect(done.status, JSON.stringify(done.body)).toBe(200);
        expect(done.body.images).toBe(good.length);
        return { statuses, refusal: [a, b].find((x) => x.status === 409)?.body.error };
      },
      ({ statuses, refusal }) => ({ statuses, refusal, archiveBytesMatch: true }),
    );
  });
});
