/**
 * Cluster mode for real (issue 15): Redis, PostgreSQL, two web servers and three runners on loopback, each started
 * from its systemd unit (deploy/systemd). Two Chromium pages — one per web server — submit 20 small runs and watch
 * all of them over socket.io; one runner is killed with SIGKILL mid-run and one web server is restarted meanwhile.
 * Then: every run has a final status; the database holds each run's events exactly once and gap-free, equal to
 * the Redis stream; both browsers saw the same sequence per run; and the results equal a single-machine run.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { readRunEvents } from '@defectflow/runner/cluster-protocol';
import { resnetFixtureOnnx } from '@defectflow/engine/testing';
import { type RedisServer, startRedisServer } from '@defectflow/runner/testing/redis-server';
import { publishDataset } from '@defectflow/storage';
import { startTestS3Server, type TestS3Server } from '@defectflow/storage/testing';
import { Redis } from 'ioredis';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClusterRunner, startClusterRunner, startClusterWeb } from '../src/cluster.ts';
import { type AppHandle, launchBrowser, REPO_ROOT, startApp } from '../src/harness.ts';
import { type PgServer, startPgServer } from '../src/postgres-server.ts';
import { endlessGraph, quickGraph, waitUntil } from '../src/reliability.ts';

// The browser build of the client the app bundles (npm hoists it to the root).
const SOCKET_IO_CLIENT = join(REPO_ROOT, 'node_modules/socket.io-client/dist/socket.io.min.js');

interface RunRow {
  id: string;
  status: string;
  error: string | null;
  runnerId: string | null;
}

type Seen = Record<string, Array<{ seq: number; type: string }>>;

/** Injected into each page: a socket.io client that joins runs and records every event it receives (resumes after a reconnect). */
const RECORDER = `
window.__df = { seen: {}, runs: new Set(), errors: [] };
const maxSeq = (id) => Math.max(0, ...(window.__df.seen[id] ?? []).map((e) => e.seq));
const socket = io(location.origin, { transports: ['websocket'] });
window.__df.socket = socket;
socket.on('disconnect', (r) => window.__df.errors.push({ disconnect: r, at: Date.now() }));
socket.on('run:event', (e) => { (window.__df.seen[e.runId] ??= []).push({ seq: e.seq, type: e.type }); });
socket.on('error', (e) => window.__df.errors.push(e));
socket.on('connect', () => { for (const id of window.__df.runs) socket.emit('run:join', { runId: id, since: maxSeq(id) }); });
window.__df.join = (id) => { window.__df.runs.add(id); if (socket.connected) socket.emit('run:join', { runId: id, since: maxSeq(id) }); };
`;

/** Three quick graphs (they differ by seed), a longer one, and one that trains until its runner is killed. */
const quick = (k: number, deploy = false): PipelineGraph => quickGraph('tiny', { seed: (k % 3) + 1 }, deploy ? {} : false);
const longer = (seed: number): PipelineGraph =>
  quickGraph('tiny', { epochs: 80, batchSize: 2, seed }, false, { mode: 'upTo', upToBlock: 'block_3_expand_relu' });

function evaluateSummary(events: RunEvent[]): Record<string, unknown> | undefined {
  const e = events.find((x) => (x.type === 'node.finished' || x.type === 'node.cached') && x.nodeType === 'evaluate');
  return (e as { summary?: Record<string, unknown> } | undefined)?.summary;
}

const epochs = (events: RunEvent[]) =>
  events.filter((e) => e.type === 'train.epoch').map((e) => [(e as { loss: number }).loss, (e as { acc: number }).acc]);

describe('cluster mode: 2 web servers, 3 runners, Redis, PostgreSQL', () => {
  let redisServer: RedisServer;
  let redis: Redis;
  let pg: PgServer;
  let varLib: string;
  let datasetsRoot: string;
  let webs: AppHandle[] = [];
  let runners: ClusterRunner[] = [];
  let browser: Browser;
  let single: AppHandle | undefined;
  let s3: TestS3Server;

  beforeAll(async () => {
    varLib = mkdtempSync(join(tmpdir(), 'defectflow-cluster-'));
    datasetsRoot = join(varLib, 'datasets');
    mkdirSync(datasetsRoot, { recursive: true });
    const engine = (await import('@defectflow/engine')) as {
      generateSampleDataset(dir: string, o: { perClass: number; size: number; seed: number; classes: string[] }): Promise<unknown>;
    };
    await engine.generateSampleDataset(join(datasetsRoot, 'tiny'), { perClass: 12, size: 64, seed: 7, classes: ['crazing', 'inclusion', 'scratches'] });
    [redisServer, pg, s3] = await Promise.all([startRedisServer(), startPgServer(), startTestS3Server()]);
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    // Artifacts and datasets go through an S3-compatible store: runners share no disk with the web servers.
    const storage = { STORAGE_URL: s3.storageUrl('cluster'), S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_REGION: 'us-east-1' };
    await publishDataset(s3.store('cluster'), datasetsRoot, 'tiny');
    // Every answered image is kept (the prediction log's sample), so the other web server must show it.
    const shared = { REDIS_URL: redisServer.url, DATABASE_URL: pg.url, PREDICTION_SAMPLE_RATE: '1', ...storage };
    // One after the other: the first migrates and seeds the database.
    webs.push(await startClusterWeb(varLib, { ...shared, DATASETS_ROOT: datasetsRoot }));
    webs.push(await startClusterWeb(varLib, { ...shared, DATASETS_ROOT: datasetsRoot }));
    runners = await Promise.all(
      ['runner-1', 'runner-2', 'runner-3'].map((id) =>
        startClusterRunner(id, varLib, { ...shared, RUNNER_LOCK_MS: '4000', RUNNER_STALLED_CHECK_MS: '1000' }),
      ),
    );
    browser = await launchBrowser();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    for (const web of webs) await web.dispose();
    await Promise.all(runners.map((r) => r.kill('SIGTERM')));
    await single?.dispose();
    await redis?.quit();
    await redisServer?.stop();
    await s3?.close();
    pg?.dispose();
    if (varLib) rmSync(varLib, { recursive: true, force: true });
  });

  it('runs 20 runs from browsers on both web servers through a runner SIGKILL and a web restart, losing and repeating nothing', async () => {
    const [web1, web2] = webs as [AppHandle, AppHandle];
    const status = await web1.trpc<{ mode: string; runners: Array<{ runnerId: string }> }>('runner.status');
    expect(status.mode).toBe('cluster');
    await waitUntil('three runners announced', async () => {
      const s = await web2.trpc<{ runners: unknown[] }>('runner.status');
      return s.runners.length === 3;
    });

    const pages: Page[] = [];
    for (const web of webs) {
      const page = await browser.newPage();
      await page.goto(`${web.url}/api/trpc/runner.status`);
      await page.addScriptTag({ path: SOCKET_IO_CLIENT });
      await page.addScriptTag({ content: RECORDER });
      pages.push(page);
    }
    const submit = (page: Page, graph: PipelineGraph, retryOnLoss = false) =>
      page.evaluate(
        async ({ graph, retryOnLoss }) => {
          const res = await fetch('/api/trpc/runs.start', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ graph, retryOnLoss }),
          });
          const body = await res.json();
          if (!body.result?.data?.ok) throw new Error(JSON.stringify(body));
          return body.result.data.runId as string;
        },
        { graph, retryOnLoss },
      );

    // A run that trains until its runner is killed and a longer one first, then 18 quick ones, alternating web servers.
    const slowLost = await submit(pages[0] as Page, endlessGraph('tiny', 11));
    const slowRetried = await submit(pages[1] as Page, longer(12), true);
    const quickRuns: Array<{ runId: string; k: number }> = [];
    // The first three deploy a model (registered from the store: the runners share no disk with the web servers).
    for (let k = 0; k < 18; k++) quickRuns.push({ runId: await submit(pages[k % 2] as Page, quick(k, k < 3)), k });
    const all = [slowLost, slowRetried, ...quickRuns.map((r) => r.runId)];
    for (const page of pages) await page.evaluate((ids) => ids.forEach((id) => (window as any).__df.join(id)), all);

    // Kill the runner that trains the slow run which may not be retried, once it is training.
    const victim = await waitUntil(
      'the slow run to train on a runner',
      async () => {
        const run = await web1.trpc<RunRow & { lastSeq: number }>('runs.get', { runId: slowLost });
        const events = await web1.trpc<RunEvent[]>('runs.events', { runId: slowLost, since: 0 });
        return run.runnerId && events.some((e) => e.type === 'train.epoch') ? run.runnerId : null;
      },
      120_000,
    );
    const killed = runners.find((r) => r.runnerId === victim) as ClusterRunner;
    // The runners page's view agrees: the victim's heartbeat lists the run.
    await waitUntil('the runner status to list the run on its runner', async () => {
      const s = await web1.trpc<{ runners: Array<{ runnerId: string; running: string[] }> }>('runner.status');
      return s.runners.find((r) => r.runnerId === victim)?.running.includes(slowLost);
    });
    await killed.kill('SIGKILL');
    // While the cluster recovers and the longer run trains, one web server restarts (same WEB_ID: it resumes its
    // share of the event stream).
    await waitUntil('the longer run to train', async () =>
      (await web1.trpc<RunEvent[]>('runs.events', { runId: slowRetried, since: 0 })).some((e) => e.type === 'train.epoch'),
    );
    await web2.restart();
    expect((await web1.trpc<RunRow>('runs.get', { runId: slowRetried })).status, 'the longer run is still running after the restart').toBe('running');
    // The run page says which runner holds the run, and the nav badge counts the runners left.
    const runPage = await browser.newPage();
    await runPage.goto(`${web2.url}/runs/${slowRetried}`);
    await runPage.getByTestId('run-placement').filter({ hasText: /running on runner runner-\d/ }).waitFor({ timeout: 30_000 });
    await runPage.getByTestId('runner-badge').filter({ hasText: 'runners: 2' }).waitFor({ timeout: 30_000 });
    await runPage.close();
    await waitUntil('web server 2 back in the cluster', async () => (await web2.trpc<{ connected: boolean }>('runner.status')).connected);

    const finals = new Map<string, RunRow>();
    await waitUntil(
      'every run to end',
      async () => {
        for (const id of all) {
          if (finals.has(id)) continue;
          const run = await web1.trpc<RunRow>('runs.get', { runId: id });
          if (run.status !== 'queued' && run.status !== 'running') finals.set(id, run);
        }
        return finals.size === all.length;
      },
      420_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n${[...all].filter((id) => !finals.has(id)).join(', ')}\n${runners.map((r) => r.logs().slice(-1500)).join('\n---\n')}`);
    });

    // Final statuses: the run held by the killed runner is interrupted, naming it; the others succeeded.
    const lostRow = finals.get(slowLost) as RunRow;
    expect(lostRow.status).toBe('interrupted');
    expect(lostRow.error).toContain(`runner ${victim} stopped while it held the run`);
    for (const id of all.filter((x) => x !== slowLost)) {
      const row = finals.get(id) as RunRow;
      expect(row.status, `run ${id}: ${row.error}`).toBe('succeeded');
    }

    // The database: each run's events exactly once, seqs 1..n, one ending, the last; equal to the Redis stream.
    const stored = new Map<string, RunEvent[]>();
    for (const id of all) {
      const events = await web1.trpc<RunEvent[]>('runs.events', { runId: id, since: 0 });
      stored.set(id, events);
      expect(
        events.map((e) => e.seq),
        `run ${id} events gap-free`,
      ).toEqual(events.map((_, i) => i + 1));
      expect(events.filter((e) => e.type === 'run.finished')).toHaveLength(1);
      expect(events.at(-1)?.type).toBe('run.finished');
      const streamed = await readRunEvents(redis, id, 0);
      expect(
        streamed.map((e) => [e.seq, e.type]),
        `run ${id}: database = Redis stream`,
      ).toEqual(events.map((e) => [e.seq, e.type]));
      // Both web servers read the same database: web 2 (restarted) answers the same.
      expect((await web2.trpc<RunEvent[]>('runs.events', { runId: id, since: 0 })).length).toBe(events.length);
    }

    // The report and the models page work as with an embedded runner, from either web server: full metrics (per-image
    // predictions, confusion cells) read from the store, deployed models registered, archived and predicting.
    for (const { runId } of quickRuns) {
      const run = await web2.trpc<{ metrics: { confusion?: unknown; predictions?: unknown[] } | null }>('runs.get', { runId });
      expect(run.metrics?.confusion, `run ${runId} full metrics`).toBeTruthy();
      expect(run.metrics?.predictions?.length).toBeGreaterThan(0);
    }
    const models = await web2.trpc<Array<{ id: string; runId: string }>>('models.list');
    const deployed = quickRuns.filter((r) => r.k < 3).map((r) => r.runId);
    expect(models.filter((m) => deployed.includes(m.runId))).toHaveLength(3);
    const model = models.find((m) => deployed.includes(m.runId)) as { id: string };
    const archive = await fetch(`${web1.url}/api/models/${encodeURIComponent(model.id)}/archive`);
    expect(archive.status).toBe(200);
    expect((await archive.arrayBuffer()).byteLength).toBeGreaterThan(10_000);
    const image = readFileSync(join(datasetsRoot, 'tiny', 'scratches', 'scratches_1.png')).toString('base64');
    const { predictions } = await web1.trpc<{ predictions: Array<{ label?: string; error?: string; scores?: Record<string, number> }> }>(
      'models.predict',
      { modelId: model.id, images: [{ name: 'scratches_1.png', dataBase64: image }] },
      'mutation',
    );
    expect(predictions[0]?.error).toBeUndefined();
    expect(Object.keys(predictions[0]?.scores ?? {}).sort()).toEqual(['crazing', 'inclusion', 'scratches']);
    // The prediction log's kept image, kept by web server 1, is shown by web server 2.
    const logged = await web2.trpc<{ items: Array<{ id: string; hasImage: boolean }> }>('predictions.list', { modelId: model.id });
    expect(logged.items[0]?.hasImage).toBe(true);
    const kept = await fetch(`${web2.url}/api/predictions/${logged.items[0]?.id}/image`);
    expect(kept.status).toBe(200);
    expect(Buffer.from(await kept.arrayBuffer())).toEqual(readFileSync(join(datasetsRoot, 'tiny', 'scratches', 'scratches_1.png')));

    // An ONNX backbone uploaded to one web server is listed, with cut points a runner read from the store, on the other.
    const uploaded = await fetch(`${web2.url}/api/backbones/upload?name=resnet-tiny.onnx`, {
      method: 'PUT',
      headers: { origin: web2.url },
      body: new Uint8Array(resnetFixtureOnnx({ size: 64 })),
    });
    expect(uploaded.status, await uploaded.clone().text()).toBe(200);
    const described = await waitUntil('the backbone on the other web server', () =>
      web1.trpc<{ name: string; cutPoints: Array<{ name: string }> }>('backbones.get', { name: 'resnet-tiny.onnx' }),
    );
    expect(described.cutPoints.map((c) => c.name)).toContain('layer2');

    // Every browser saw the same sequence for every run (after de-duplication by seq, as the page does).
    for (const [p, page] of pages.entries()) {
      const seen = await waitUntil(
        `browser ${p + 1} to see every run end`,
        async () => {
          const s = (await page.evaluate(() => (window as any).__df.seen)) as Seen;
          return all.every((id) => s[id]?.some((e) => e.type === 'run.finished')) ? s : null;
        },
        60_000,
      ).catch(async (err: Error) => {
        const s = (await page.evaluate(() => (window as any).__df.seen)) as Seen;
        const errors = await page.evaluate(() => (window as any).__df.errors);
        const lines = all.map((id) => `${id}: browser ${new Set((s[id] ?? []).map((e) => e.seq)).size} of ${stored.get(id)?.length} stored`);
        const connected = await page.evaluate(() => (window as any).__df.socket?.connected);
        const logs = webs.map((w, i) => `--- web ${i + 1}\n${w.logs().split('\n').filter((l) => !/AWS|node >=22|versions published|To continue|a\.co|trace-warnings/.test(l)).slice(-40).join('\n')}`);
        throw new Error(`${err.message}\n${lines.join('\n')}\nerrors: ${JSON.stringify(errors)} connected: ${connected}\n${logs.join('\n')}`);
      });
      for (const id of all) {
        const unique = new Map((seen[id] ?? []).map((e) => [e.seq, e.type]));
        const sequence = [...unique.entries()].sort((a, b) => a[0] - b[0]);
        expect(sequence, `browser ${p + 1}, run ${id}`).toEqual((stored.get(id) ?? []).map((e) => [e.seq, e.type]));
      }
    }

    // The editor's Queue popover (cluster mode only): a run started with high priority and "retry once" is queued so.
    const [line] = await web1.trpc<Array<{ id: string }>>('productLines.list');
    const saved = await web1.trpc<{ id: string }>('pipelines.save', { productLineId: line?.id, name: 'cluster queue options', graph: quick(0) }, 'mutation');
    const editor = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await editor.goto(`${web1.url}/editor?pipeline=${saved.id}`);
    await editor.getByTestId('queue-options-button').click();
    await editor.getByTestId('queue-priority').selectOption('high');
    await editor.getByTestId('queue-retry').check();
    await editor.getByRole('button', { name: 'Done' }).click();
    await editor.getByTestId('queue-options-button').filter({ hasText: 'high priority · retry' }).waitFor();
    await editor.getByTestId('run-button').click();
    const fromEditor = await waitUntil('the editor\'s run', async () =>
      (await web1.trpc<Array<{ id: string; pipelineId: string | null }>>('runs.list', { limit: 50 })).find((r) => r.pipelineId === saved.id),
    );
    const job = await redis.hgetall(`bull:df-runs:${fromEditor.id}`);
    expect(Number(job.priority)).toBe(1);
    expect(JSON.parse(job.data ?? '{}')).toMatchObject({ runId: fromEditor.id, retryOnLoss: true });
    await editor.close();

    // Results equal a single-machine run (embedded runner, PGlite) of the same graphs.
    single = await startApp();
    await single.waitForRunner();
    const engine = (await import('@defectflow/engine')) as {
      generateSampleDataset(dir: string, o: { perClass: number; size: number; seed: number; classes: string[] }): Promise<unknown>;
    };
    await engine.generateSampleDataset(join(single.datasetsRoot, 'tiny'), { perClass: 12, size: 64, seed: 7, classes: ['crazing', 'inclusion', 'scratches'] });
    for (const k of [0, 1, 2]) {
      const res = await single.trpc<{ ok: boolean; runId: string }>('runs.start', { graph: quick(k) }, 'mutation');
      const reference = await waitUntil(
        `single-machine run ${k}`,
        async () => {
          const run = await single!.trpc<RunRow>('runs.get', { runId: res.runId });
          return run.status === 'succeeded' ? single!.trpc<RunEvent[]>('runs.events', { runId: res.runId, since: 0 }) : null;
        },
        120_000,
      );
      for (const { runId } of quickRuns.filter((r) => r.k % 3 === k)) {
        const events = stored.get(runId) ?? [];
        expect(evaluateSummary(events), `run ${runId} evaluation = single machine`).toEqual(evaluateSummary(reference));
        // A run that trained (not answered from its runner's output cache) trained exactly the same epochs.
        if (epochs(events).length) expect(epochs(events)).toEqual(epochs(reference));
      }
    }
  }, 900_000);
});
