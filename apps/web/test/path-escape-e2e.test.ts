/**
 * Issue 14's path-like node id, end to end over real HTTP: tRPC at /api/trpc (the standalone adapter the
 * server uses), the file routes, and the runner bridge fed by a scripted runner link.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline, type PipelineGraph } from '@defectflow/nodes';
import { createTRPCClient, httpLink, TRPCClientError } from '@trpc/client';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFileRoutes } from '../server/http-files.ts';
import { silentLogger } from '../server/log.ts';
import { type AppRouter, appRouter } from '../server/router.ts';
import { RunnerBridge } from '../server/runner-bridge.ts';
import { SweepController } from '../server/sweeps/controller.ts';
import type { WebContext } from '../server/trpc.ts';
import { authOff, FakeLink, FakeRunnerControl, memoryDb, tempDir, testPredictionLog } from './helpers.ts';

let db: DbHandle;
let server: Server;
let base: string;
let runner: FakeRunnerControl;
let link: FakeLink;
let bridge: RunnerBridge;
let modelsDir: string;
let victim: string;
let client: ReturnType<typeof createTRPCClient<AppRouter>>;

beforeAll(async () => {
  db = await memoryDb();
  const top = tempDir('df-e2e-paths-');
  const dataDir = join(top, 'data');
  modelsDir = join(dataDir, 'models');
  victim = join(top, 'victim');
  mkdirSync(modelsDir, { recursive: true });
  mkdirSync(victim);
  writeFileSync(join(victim, 'secret.txt'), 'not for download');
  runner = new FakeRunnerControl();
  const ctx: WebContext = {
    repo: db.repo,
    runner,
    sweeps: new SweepController({ repo: db.repo, runner, maxRunning: 4 }),
    paths: { dataDir, datasetsRoot: join(dataDir, 'datasets'), modelsDir },
    predict: async () => [],
    predictionLog: testPredictionLog(db),
    ...authOff(db),
  };
  const trpc = createHTTPHandler({ router: appRouter, basePath: '/api/trpc/', createContext: () => ctx });
  const files = createFileRoutes({ repo: db.repo, datasetsRoot: ctx.paths.datasetsRoot, modelsDir, log: silentLogger });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/api/trpc/')) trpc(req, res);
    else void files(req, res, url).then((handled) => handled || res.writeHead(404).end());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${base}/api/trpc` })] });
  link = new FakeLink();
  link.connected = true;
  bridge = new RunnerBridge({ repo: db.repo, link, relay: { runEvent() {}, runStatus() {}, runnerStatus() {} }, modelsDir });
  bridge.start();
  await bridge.idle();
});

afterAll(async () => {
  bridge?.stop();
  server?.close();
  await db?.close();
});

/** The default pipeline with its deploy node renamed to `id`. */
function deployAs(id: string): PipelineGraph {
  const graph = createDefaultPipeline();
  for (const n of graph.nodes) if (n.id === 'deploy') n.id = id;
  for (const e of graph.edges) if (e.target === 'deploy') e.target = id;
  return graph;
}

describe('a path-like deploy node id, over HTTP', () => {
  const climb = 'x/../../../../victim';

  it('runs.start answers invalid_id naming the node, and nothing reaches the runner', async () => {
    const result = await client.runs.start.mutate({ graph: deployAs(climb) });
    if (result.ok) throw new Error('the run was accepted');
    const error = result.errors.find((e) => e.code === 'invalid_id');
    expect(error).toMatchObject({ nodeId: climb, field: 'nodes.7.id' });
    expect(error?.message).toContain(`"${climb}"`);
    expect(runner.started).toEqual([]);
    expect(await db.repo.runs.list({})).toEqual([]);
  });

  it('pipelines.save refuses it as BAD_REQUEST', async () => {
    const line = await client.productLines.create.mutate({ name: 'Line' });
    const save = client.pipelines.save.mutate({ productLineId: line.id, name: 'p', graph: deployAs(climb) });
    await expect(save).rejects.toBeInstanceOf(TRPCClientError);
    await expect(save).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' }, message: expect.stringContaining(climb) });
  });

  it('a runner that exported outside anyway gets no model registered, and nothing outside is served', async () => {
    const run = await db.repo.runs.create({ graph: createDefaultPipeline() });
    const modelId = `m-${run.id.slice(0, 8)}-x`;
    const summary = { modelId, dir: join(modelsDir, `m-${run.id.slice(0, 8)}-x`, '..', '..', '..', 'victim') };
    link.record(run.id, { type: 'node.finished', nodeId: 'deploy', nodeType: 'deploy', summary, durationMs: 1 });
    await bridge.idle();
    expect(await db.repo.models.get(modelId)).toBeNull();
    expect((await fetch(`${base}/api/models/${modelId}/archive`)).status).toBe(404);
    // A row that slipped in before this check existed: refused at download and at predict.
    const stray = await db.repo.models.create({ name: 'stray', dir: victim, labels: ['a'], inputSize: 96 });
    const res = await fetch(`${base}/api/models/${stray.id}/archive`);
    expect(res.status).toBe(403);
    expect(await res.text()).not.toContain('not for download');
    const predict = client.models.predict.mutate({ modelId: stray.id, images: [{ name: 'a.png', dataBase64: 'YQ==' }] });
    await expect(predict).rejects.toMatchObject({ data: { code: 'BAD_REQUEST' } });
    expect(existsSync(join(victim, 'model.json'))).toBe(false);
  });
});
