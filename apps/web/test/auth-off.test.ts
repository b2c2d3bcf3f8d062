/**
 * AUTH off (the loopback zero-config default) over real HTTP: everyone is the local admin, yet a page elsewhere
 * still cannot reach the server by DNS rebinding (Host) or make it change data (Origin). Plus ADMIN_USERNAME.
 */
import { io as connect } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, raw, startTestServer, type TestServer } from './auth-server.ts';

let srv: TestServer;

beforeAll(async () => {
  srv = await startTestServer({ auth: { enabled: false, admin: { username: 'boss', password: 'a long admin password' } } });
});
afterAll(async () => {
  await srv?.close();
});

describe('AUTH off', () => {
  it('every request is the local admin; no setup code; ADMIN_USERNAME created the first admin anyway', async () => {
    const c = new Client(srv);
    expect((await c.query('auth.me')).data).toEqual({
      authRequired: false,
      needsSetup: false,
      user: { id: 'local', username: 'local', role: 'admin' },
    });
    expect(srv.logs.some((l) => l.startsWith('setup code'))).toBe(false);
    expect(srv.logs).toContain('created the first admin "boss" (ADMIN_USERNAME)');
    expect(((await c.query('users.list')).data as Array<{ username: string }>).map((u) => u.username)).toEqual(['boss']);
    // A script on this machine (no Origin, no Referer) may change data.
    expect((await c.mutate('productLines.create', { name: 'Local' }, { origin: undefined })).status).toBe(200);
    const token = await c.mutate('tokens.create', { name: 'x' });
    expect(token).toMatchObject({ status: 412, code: 'PRECONDITION_FAILED' });
    expect(token.message).toMatch(/AUTH is off/);
  });

  it('DNS rebinding: a foreign Host gets 421 on every route and on socket.io', async () => {
    for (const path of ['/api/trpc/runs.list', '/api/images?dataset=a&path=b', '/', '/socket.io/?EIO=4&transport=polling']) {
      const res = await raw(srv.port, 'GET', path, { host: 'attacker.example' });
      expect([path, res.status]).toEqual([path, 421]);
    }
    expect((await raw(srv.port, 'GET', '/api/trpc/runs.list', { host: `localhost:${srv.port}` })).status).toBe(200);
  });

  it('a page elsewhere cannot change data (Origin) nor open the socket', async () => {
    const c = new Client(srv);
    const res = await c.mutate('productLines.create', { name: 'From evil' }, { origin: 'https://evil.example' });
    expect(res.status).toBe(403);
    expect(res.message).toMatch(/origin https:\/\/evil\.example may not change data/);
    const s = connect(srv.base, { transports: ['websocket'], reconnection: false, extraHeaders: { origin: 'https://evil.example' } });
    const outcome = await new Promise((resolve) => {
      s.once('connect', () => resolve('connected'));
      s.once('connect_error', () => resolve('refused'));
    });
    s.close();
    expect(outcome).toBe('refused');
  });
});
