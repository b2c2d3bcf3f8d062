import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunEvent } from '@defectflow/nodes';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_PRINCIPAL } from '../server/auth/principal.ts';
import { silentLogger } from '../server/log.ts';
import { attachBrowserSockets, type BrowserSockets } from '../server/sockets.ts';
import { waitFor } from './helpers.ts';

const history: RunEvent[] = [1, 2, 3].map((seq) => ({ type: 'node.log', level: 'info', message: `m${seq}`, runId: 'r1', seq, ts: seq }));

let server: Server;
let sockets: BrowserSockets;
let url: string;
const clients: Socket[] = [];

beforeAll(async () => {
  server = createServer();
  sockets = attachBrowserSockets(server, {
    listEvents: async (runId, since) => history.filter((e) => e.runId === runId && e.seq > since),
    runnerStatus: () => ({ connected: true, url: 'http://r', backend: 'wasm', device: 'cpu', busy: false, queue: [], currentRunId: null }),
    runExists: async (runId) => runId === 'r1' || runId === 'r2',
    // AUTH off: every socket is the local admin (access control: auth-http.test.ts).
    guard: { check: async () => ({ ok: true }), principal: async () => LOCAL_PRINCIPAL },
    auth: { resolve: async () => LOCAL_PRINCIPAL, onRevoked: () => () => {} },
    joinLimit: 30,
    log: silentLogger,
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const c of clients) c.close();
  await sockets.close();
  server.close();
});

function client(): Socket {
  const c = connect(url, { transports: ['websocket'] });
  clients.push(c);
  return c;
}

describe('browser sockets', () => {
  it('sends the runner status on connect, history after run:join, then live events of that run only', async () => {
    const c = client();
    const statuses: unknown[] = [];
    const got: RunEvent[] = [];
    c.on('runner:status', (s) => statuses.push(s));
    c.on('run:event', (e: RunEvent) => got.push(e));
    await waitFor(() => statuses.length > 0);
    expect(statuses[0]).toMatchObject({ connected: true, backend: 'wasm' });

    c.emit('run:join', { runId: 'r1', since: 1 });
    await waitFor(() => got.length === 2);
    sockets.runEvent({ type: 'node.log', level: 'info', message: 'live', runId: 'r1', seq: 4, ts: 4 });
    sockets.runEvent({ type: 'node.log', level: 'info', message: 'other run', runId: 'r2', seq: 1, ts: 4 });
    await waitFor(() => got.length === 3);
    await new Promise((r) => setTimeout(r, 100));
    expect(got.map((e) => `${e.runId}:${e.seq}`)).toEqual(['r1:2', 'r1:3', 'r1:4']);

    c.emit('run:leave', { runId: 'r1' });
    await new Promise((r) => setTimeout(r, 100));
    sockets.runEvent({ type: 'node.log', level: 'info', message: 'after leave', runId: 'r1', seq: 5, ts: 5 });
    sockets.runnerStatus({ connected: false, url: 'http://r', backend: null, device: null, busy: false, queue: [], currentRunId: null });
    await waitFor(() => statuses.length === 2);
    expect(got).toHaveLength(3);
    expect(statuses[1]).toMatchObject({ connected: false });
  });
});
