/**
 * The runner token never leaves the server side: a real runner (in-process, real tRPC + socket.io) behind the real
 * runner link and bridge, a run started and watched by a signed-in browser client; no response body or socket
 * message contains the token.
 */
import { join } from 'node:path';
import { createDefaultPipeline } from '@defectflow/nodes';
import type { RunnerServer } from '@defectflow/runner';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../server/log.ts';
import { RunnerBridge } from '../server/runner-bridge.ts';
import type { RunnerLink } from '../server/runner-link.ts';
import { Client, startTestServer, type TestServer } from './auth-server.ts';
import { tempDir, waitFor } from './helpers.ts';
import { startStubRunner } from './stub-runner.ts';

const TOKEN = 'runner-secret-token-must-stay-inside-0123';
let runner: RunnerServer;
let link: RunnerLink;
let bridge: RunnerBridge;
let srv: TestServer;
let socket: Socket | undefined;

beforeAll(async () => {
  const dataDir = tempDir('df-token-');
  ({ runner, link } = await startStubRunner(TOKEN, dataDir, async (opts) => {
    opts.sink({ type: 'run.started', backend: 'stub', device: 'test' });
    opts.sink({ type: 'node.log', nodeId: 'train', level: 'info', message: 'training' });
    return { status: 'succeeded', outputs: {}, summaries: {}, timings: {}, cached: [] };
  }));
  srv = await startTestServer({
    auth: { admin: { username: 'root', password: 'root password 123' } },
    runner: (db, sockets) => {
      bridge = new RunnerBridge({ repo: db.repo, link, relay: sockets, modelsDir: join(dataDir, 'models'), log: silentLogger });
      bridge.start();
      return bridge;
    },
  });
});
afterAll(async () => {
  socket?.close();
  bridge?.stop();
  link?.close();
  await runner?.close();
  await srv?.close();
});

describe('the runner token', () => {
  it('appears in no tRPC answer, file route answer or socket message', async () => {
    const bodies: string[] = [];
    const admin = new Client(srv);
    bodies.push((await admin.signIn('root', 'root password 123')).raw);
    await waitFor(async () => ((await admin.query('runner.status')).data as { connected: boolean }).connected);

    socket = connect(srv.base, {
      transports: ['websocket'],
      reconnection: false,
      extraHeaders: { origin: srv.base, cookie: `df_session=${admin.cookie}` },
    });
    socket.onAny((event: string, ...args: unknown[]) => bodies.push(JSON.stringify([event, ...args])));
    await new Promise<void>((r) => socket!.once('connect', () => r()));

    const line = await admin.mutate('productLines.create', { name: 'L' });
    const started = await admin.mutate('runs.start', { graph: createDefaultPipeline(), productLineId: (line.data as { id: string }).id });
    bodies.push(line.raw, started.raw);
    const runId = (started.data as { runId: string }).runId;
    expect(runId).toBeTruthy();
    socket.emit('run:join', { runId });
    await waitFor(async () => ((await admin.query('runs.get', { runId })).data as { status: string }).status === 'succeeded');

    const queries: Array<[string, unknown?]> = [
      ['runner.status'], ['runs.list'], ['runs.get', { runId }], ['runs.events', { runId }],
      ['nodes.registry'], ['productLines.list'], ['pipelines.list'], ['templates.list'], ['models.list'], ['datasets.list'],
      ['auth.me'], ['users.list'], ['tokens.list'],
    ];
    for (const [path, input] of queries) {
      const res = await admin.query(path, input);
      expect([path, res.status]).toEqual([path, 200]);
      bodies.push(res.raw);
    }
    bodies.push((await admin.mutate('runs.cancel', { runId })).raw);
    bodies.push((await admin.http('GET', `/api/images?run=${runId}&id=x.png`)).body);
    await waitFor(() => bodies.some((b) => b.includes('run.finished')));

    expect(bodies.join('\n')).toContain(runId); // the scan saw the run's data…
    expect(bodies.join('\n')).toContain(runner.url); // …and the runner's address (runner.status)…
    for (const body of bodies) expect(body).not.toContain(TOKEN); // …but never its token
  });
});
