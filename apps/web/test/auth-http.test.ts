/**
 * Access control over real HTTP and socket.io (AUTH on, PGlite in a temp dir): the setup code, sessions, roles on
 * every procedure, Host/Origin checks, API tokens, revocation, rate limits and the last-admin rule.
 */
import { createDefaultPipeline } from '@defectflow/nodes';
import { sessions } from '@defectflow/db';
import { eq } from 'drizzle-orm';
import { io as connect, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../server/auth/crypto.ts';
import { appRouter } from '../server/router.ts';
import { Client, raw, startTestServer, type TestServer } from './auth-server.ts';
import { waitFor } from './helpers.ts';

const PASSWORD = 'correct horse battery';
let srv: TestServer;
let admin: Client;
let viewer: Client;
let engineer: Client;
const sockets: Socket[] = [];

async function createUser(username: string, role: 'viewer' | 'engineer' | 'admin', password = PASSWORD) {
  const res = await admin.mutate('users.create', { username, password, role });
  expect(res.status, res.raw).toBe(200);
  return res.data as { id: string };
}

async function signedIn(username: string, password = PASSWORD, headers: Record<string, string> = {}) {
  const c = new Client(srv, headers);
  await c.signIn(username, password);
  return c;
}

function socketOf(c: Client | null, headers: Record<string, string | undefined> = {}): Socket {
  const extraHeaders = Object.fromEntries(
    Object.entries({ origin: srv.base, cookie: c?.cookie ? `df_session=${c.cookie}` : undefined, ...headers }).filter(
      ([, v]) => v !== undefined,
    ),
  ) as Record<string, string>;
  const s = connect(srv.base, { transports: ['websocket'], reconnection: false, extraHeaders });
  sockets.push(s);
  return s;
}

function outcome(s: Socket): Promise<'connected' | string> {
  return new Promise((resolve) => {
    s.once('connect', () => resolve('connected'));
    s.once('connect_error', (err) => resolve(`refused: ${err.message}`));
  });
}

function join(s: Socket, runId: string): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => s.emit('run:join', { runId }, resolve));
}

beforeAll(async () => {
  srv = await startTestServer({ auth: { signInMaxFailures: 3 }, joinLimit: 5, trustProxy: true });
});

afterAll(async () => {
  for (const s of sockets) s.close();
  await srv?.close();
});

describe('first start: the setup code', () => {
  it('prints a setup code; auth.me says setup is needed; wrong codes and weak passwords are refused', async () => {
    const line = srv.logs.find((l) => l.startsWith('setup code: '));
    expect(line).toMatch(/^setup code: [A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4} /);
    const anon = new Client(srv);
    expect((await anon.query('auth.me')).data).toEqual({ authRequired: true, needsSetup: true, user: null });

    const wrong = await anon.mutate('auth.setup', { setupCode: 'AAAA-BBBB-CCCC', username: 'root', password: PASSWORD });
    expect(wrong).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(wrong.message).toMatch(/Wrong setup code.*log/);
    const code = line!.split(' ')[2]!;
    const weak = await anon.mutate('auth.setup', { setupCode: code, username: 'root', password: 'short' });
    expect(weak.status).toBe(400);
    expect(weak.raw).toMatch(/at least 10 characters/);
  });

  it('setup attempts are rate-limited per client', async () => {
    const from = new Client(srv, { 'x-forwarded-for': '10.9.9.9' });
    for (let i = 0; i < 3; i++) {
      expect((await from.mutate('auth.setup', { setupCode: 'WRONG-CODE', username: 'root', password: PASSWORD })).status).toBe(401);
    }
    const limited = await from.mutate('auth.setup', { setupCode: 'WRONG-CODE', username: 'root', password: PASSWORD });
    expect(limited).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS' });
    expect(limited.message).toMatch(/Too many setup attempts: try again in \d+ s/);
  });

  it('the right code creates the admin and signs them in (HttpOnly, SameSite=Lax cookie); then setup is closed', async () => {
    const code = srv.logs.find((l) => l.startsWith('setup code: '))!.split(' ')[2]!;
    admin = new Client(srv, { 'x-forwarded-for': '10.0.0.1' });
    const res = await admin.mutate('auth.setup', { setupCode: code.toLowerCase(), username: 'Root', password: PASSWORD });
    expect(res.status, res.raw).toBe(200);
    expect(res.data).toMatchObject({ user: { username: 'root', role: 'admin' } });
    const cookie = [res.headers['set-cookie'] ?? []].flat().join('\n');
    expect(cookie).toMatch(/^df_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Lax; Max-Age=604800$/m);
    expect((await admin.query('auth.me')).data).toMatchObject({ authRequired: true, needsSetup: false, user: { username: 'root', role: 'admin' } });
    // Only a hash of the cookie is stored.
    const rows = await srv.db.db.select().from(sessions);
    expect(rows.map((r) => r.tokenHash)).toContain(sha256Hex(admin.cookie!));
    expect(JSON.stringify(rows)).not.toContain(admin.cookie!);

    const again = await new Client(srv).mutate('auth.setup', { setupCode: code, username: 'other', password: PASSWORD });
    expect(again).toMatchObject({ status: 409, code: 'CONFLICT' });

    await createUser('vera', 'viewer');
    await createUser('ed', 'engineer');
    viewer = await signedIn('vera');
    engineer = await signedIn('ed');
  });
});

describe('no session', () => {
  it('401 on a tRPC query, a file route, an upload and a socket connect', async () => {
    const anon = new Client(srv);
    const q = await anon.query('runs.list');
    expect(q).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    expect(q.message).toMatch(/Sign in first/);

    const file = await anon.http('GET', '/api/images?dataset=steel&path=a.png');
    expect(file.status).toBe(401);
    expect(JSON.parse(file.body).error).toMatch(/Sign in first/);
    expect((await anon.http('GET', '/api/models/m1/archive')).status).toBe(401);
    expect((await anon.http('GET', '/api/models/m1/model.onnx')).status).toBe(401);

    const upload = await anon.http('PUT', '/api/datasets/uploads/abcdefgh12/archive?offset=0', {}, Buffer.from('PK'));
    expect(upload.status).toBe(401);

    const poll = await raw(srv.port, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: srv.base });
    expect(poll.status).toBe(401);
    expect(poll.body).toMatch(/Sign in first/);
    expect(await outcome(socketOf(null))).toMatch(/^refused/);
  });

  it('an expired or too old session is refused and deleted', async () => {
    const c = await signedIn('vera');
    const hash = sha256Hex(c.cookie!);
    await srv.db.db.update(sessions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(sessions.tokenHash, hash));
    expect((await c.query('runs.list')).status).toBe(401);
    expect(await srv.db.db.select().from(sessions).where(eq(sessions.tokenHash, hash))).toEqual([]);

    const old = await signedIn('vera');
    const oldHash = sha256Hex(old.cookie!);
    await srv.db.db.update(sessions).set({ createdAt: new Date(Date.now() - 8 * 86_400_000) }).where(eq(sessions.tokenHash, oldHash));
    expect((await old.query('runs.list')).status).toBe(401); // past SESSION_MAX_DAYS however active
  });
});

describe('roles on every procedure', () => {
  const PUBLIC = new Set(['auth.me', 'auth.signIn', 'auth.signOut', 'auth.setup']);
  /** Deleting runs, deleting or renaming models: admin (issue 20). */
  const ADMIN = new Set(['runs.delete', 'models.delete', 'models.rename']);
  const procedures = Object.entries((appRouter as unknown as { _def: { procedures: Record<string, { _def: { type: string } }> } })._def.procedures).map(
    ([path, p]) => ({ path, type: p._def.type }),
  );
  const needed = (path: string, type: string) =>
    PUBLIC.has(path)
      ? 'public'
      : path.startsWith('users.') || ADMIN.has(path)
        ? 'admin'
        : path.startsWith('tokens.') || path === 'auth.changePassword' || type === 'query'
          ? 'viewer'
          : 'engineer';
  const call = (c: Client, p: { path: string; type: string }) => (p.type === 'query' ? c.query(p.path) : c.mutate(p.path, null));

  // Something to lose: a product line, a pipeline and a finished run with its events.
  beforeAll(async () => {
    const { repo } = srv.db;
    const line = await repo.productLines.create('Access line');
    const graph = createDefaultPipeline();
    await repo.pipelines.save({ productLineId: line.id, name: 'Access pipeline', graph });
    const run = await repo.runs.create({ graph, productLineId: line.id });
    await repo.runEvents.append([
      { runId: run.id, seq: 1, ts: Date.now(), type: 'run.started', backend: 'cpu', device: 'test' },
      { runId: run.id, seq: 2, ts: Date.now(), type: 'run.finished', status: 'succeeded', durationMs: 1 },
    ]);
  });

  /** What refused calls must leave alone: every table a mutation could touch, as row counts. */
  async function rowCounts() {
    const { repo } = srv.db;
    const runs = await repo.runs.list({ limit: 10_000 });
    return {
      productLines: (await repo.productLines.list()).length,
      pipelines: (await repo.pipelines.list()).length,
      templates: (await repo.templates.list()).length,
      runs: runs.length,
      events: (await Promise.all(runs.map((r) => repo.runEvents.list(r.id, 0)))).flat().length,
      models: (await repo.models.list()).length,
      datasets: (await repo.datasets.list()).length,
      users: (await repo.users.list()).length,
    };
  }

  it('anonymous: 401 everywhere but sign-in, setup, sign-out and me', async () => {
    expect(procedures.length).toBeGreaterThan(40);
    const before = await rowCounts();
    const anon = new Client(srv);
    let refused = 0;
    for (const p of procedures) {
      const res = await call(anon, p);
      if (needed(p.path, p.type) === 'public') expect(res.status, p.path).not.toBe(401);
      else {
        expect([p.path, res.status]).toEqual([p.path, 401]);
        refused++;
      }
    }
    // Nothing saved changed (docs/RELIABILITY.md "Access attempts").
    expect(await rowCounts()).toEqual(before);
    console.log(`RELIABILITY ${JSON.stringify({ group: 'access', case: 'no session, every procedure', procedures: procedures.length, refused401: refused, rows: before })}`);
  });

  it('viewer: every query; every mutation but tokens and password refused with the role message', async () => {
    const before = await rowCounts();
    let refused = 0;
    for (const p of procedures) {
      const need = needed(p.path, p.type);
      if (need === 'public') continue;
      const res = await call(viewer, p);
      if (need === 'engineer' || need === 'admin') {
        expect([p.path, res.status]).toEqual([p.path, 403]);
        expect(res.message).toBe(`needs the ${need} role; you are a viewer`);
        refused++;
      } else {
        expect([p.path, res.status]).not.toEqual([p.path, 401]);
        expect([p.path, res.status]).not.toEqual([p.path, 403]);
      }
    }
    expect(await rowCounts()).toEqual(before);
    console.log(`RELIABILITY ${JSON.stringify({ group: 'access', case: 'viewer, every mutation', refused403: refused, rows: before })}`);
  });

  it('engineer: all but user management', async () => {
    for (const p of procedures) {
      const need = needed(p.path, p.type);
      if (need === 'public') continue;
      const res = await call(engineer, p);
      if (need === 'admin') expect([p.path, res.status, res.message]).toEqual([p.path, 403, 'needs the admin role; you are an engineer']);
      else expect([p.path, res.status]).not.toContainEqual(403);
    }
  });

  it('a viewer reads and watches; an engineer starts and cancels a run', async () => {
    const line = await engineer.mutate('productLines.create', { name: 'Line 1' });
    expect(line.status, line.raw).toBe(200);
    const lineId = (line.data as { id: string }).id;
    const refused = await viewer.mutate('productLines.create', { name: 'Line 2' });
    expect(refused).toMatchObject({ status: 403, code: 'FORBIDDEN', message: 'needs the engineer role; you are a viewer' });
    // Files: a viewer reads (404 = past the guard), only an engineer uploads.
    expect((await viewer.http('GET', '/api/images?dataset=none&path=a.png')).status).toBe(404);
    const upload = await viewer.http('PUT', '/api/datasets/uploads/abcdefgh12/archive?offset=0', {}, Buffer.from('PK'));
    expect([upload.status, JSON.parse(upload.body).error]).toEqual([403, 'needs the engineer role; you are a viewer']);
    expect((await engineer.http('GET', '/api/datasets/uploads/abcdefgh12')).status).toBe(200);

    const started = await engineer.mutate('runs.start', { graph: createDefaultPipeline(), productLineId: lineId });
    expect(started.status, started.raw).toBe(200);
    const runId = (started.data as { runId: string }).runId;
    expect((await viewer.query('runs.get', { runId })).data).toMatchObject({ id: runId, status: 'queued' });
    expect((await viewer.mutate('runs.cancel', { runId })).status).toBe(403);
    expect((await engineer.mutate('runs.cancel', { runId })).data).toMatchObject({ cancelled: true });

    const s = socketOf(viewer);
    expect(await outcome(s)).toBe('connected');
    expect(await join(s, runId)).toEqual({ ok: true });
    const errors: unknown[] = [];
    s.on('error', (e: unknown) => errors.push(e));
    expect(await join(s, 'no-such-run')).toEqual({ ok: false, error: 'run no-such-run does not exist' });
    await waitFor(() => errors.length === 1);
    expect(errors[0]).toMatchObject({ event: 'run:join', runId: 'no-such-run' });
  });

  it('socket joins are rate-limited per socket (SOCKET_JOIN_LIMIT)', async () => {
    const s = socketOf(viewer);
    expect(await outcome(s)).toBe('connected');
    const replies = [];
    for (let i = 0; i < 6; i++) replies.push(await join(s, `r-${i}`));
    expect(replies.slice(0, 5).every((r) => r.error?.includes('does not exist'))).toBe(true);
    expect(replies[5]?.error).toMatch(/Too many run:join requests: the limit is 5 per 10 s \(SOCKET_JOIN_LIMIT\)/);
  });
});

describe('Host and Origin', () => {
  it('a foreign Origin (or Referer) on a mutation is refused even with a valid cookie', async () => {
    const evil = await admin.mutate('productLines.create', { name: 'Evil' }, { origin: 'https://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.message).toMatch(/origin https:\/\/evil\.example may not change data/);
    const byReferer = await admin.mutate('productLines.create', { name: 'Evil' }, { origin: undefined, referer: 'http://evil.example/page' });
    expect(byReferer.status).toBe(403);
    const none = await admin.mutate('productLines.create', { name: 'Evil' }, { origin: undefined });
    expect(none.status).toBe(403);
    expect(none.message).toMatch(/needs an Origin header .* or an API token/);
    const otherPort = await admin.mutate('productLines.create', { name: 'Evil' }, { origin: 'http://127.0.0.1:1' });
    expect(otherPort.status).toBe(403);
    expect((await admin.query('productLines.list')).data).not.toContainEqual(expect.objectContaining({ name: 'Evil' }));
    // socket.io too
    expect(await outcome(socketOf(admin, { origin: 'https://evil.example' }))).toMatch(/^refused/);
    const poll = await raw(srv.port, 'GET', '/socket.io/?EIO=4&transport=polling', { origin: 'https://evil.example', cookie: `df_session=${admin.cookie}` });
    expect(poll.status).toBe(403);
  });

  it('a wrong Host gets 421, before anything else', async () => {
    for (const path of ['/api/trpc/auth.me', '/api/images?dataset=a&path=b', '/', '/socket.io/?EIO=4&transport=polling']) {
      const res = await raw(srv.port, 'GET', path, { host: 'rebind.attacker.example:3000', cookie: `df_session=${admin.cookie}` });
      expect([path, res.status]).toEqual([path, 421]);
      expect(res.body).toMatch(/Misdirected Request: host rebind\.attacker\.example:3000 is not allowed; set ALLOWED_HOSTS/);
    }
  });
});

describe('API tokens', () => {
  it('a Bearer token acts as its user without Origin; revoked, foreign and disabled-user tokens get 401', async () => {
    const created = await engineer.mutate('tokens.create', { name: 'ci script' });
    expect(created.status, created.raw).toBe(200);
    const { token, id } = created.data as { token: string; id: string };
    expect(token).toMatch(/^dft_[A-Za-z0-9_-]{43}$/);
    const listed = (await engineer.query('tokens.list')).data as Array<Record<string, unknown>>;
    expect(listed).toEqual([expect.objectContaining({ id, name: 'ci script', prefix: token.slice(0, 10) })]);
    expect(JSON.stringify(listed)).not.toContain(token.slice(10));

    const script = new Client(srv, { authorization: `Bearer ${token}` });
    const made = await script.mutate('productLines.create', { name: 'By token' }, { origin: undefined });
    expect(made.status, made.raw).toBe(200);
    expect((await script.query('auth.me')).data).toMatchObject({ user: { username: 'ed', role: 'engineer' } });
    expect((await script.http('GET', '/api/images?dataset=none&path=a.png')).status).toBe(404); // past the guard
    expect((await script.query('users.list')).status).toBe(403); // still the engineer's role

    // A token does not sign in with a cookie attached: the header decides.
    const withBad = new Client(srv, { authorization: 'Bearer dft_not-a-token' });
    withBad.cookie = admin.cookie;
    expect((await withBad.query('runs.list')).status).toBe(401);

    // Another user's token: not theirs to revoke.
    expect((await viewer.mutate('tokens.revoke', { id })).status).toBe(404);
    expect((await script.query('runs.list')).status).toBe(200);
    expect((await engineer.mutate('tokens.revoke', { id })).status).toBe(200);
    expect((await script.query('runs.list')).status).toBe(401);

    // Another user's revoked token.
    const veraToken = ((await viewer.mutate('tokens.create', { name: 'vera cli' })).data as { token: string; id: string });
    await viewer.mutate('tokens.revoke', { id: veraToken.id });
    expect((await new Client(srv, { authorization: `Bearer ${veraToken.token}` }).query('runs.list')).status).toBe(401);

    // A disabled user's token (and session, and socket).
    const bob = await createUser('bob', 'engineer');
    const bobClient = await signedIn('bob');
    const bobToken = ((await bobClient.mutate('tokens.create', { name: 'bob' })).data as { token: string }).token;
    const bobSocket = socketOf(bobClient);
    expect(await outcome(bobSocket)).toBe('connected');
    const dropped = new Promise((r) => bobSocket.once('disconnect', r));
    expect((await admin.mutate('users.update', { id: bob.id, disabled: true })).status).toBe(200);
    await dropped;
    expect((await new Client(srv, { authorization: `Bearer ${bobToken}` }).query('runs.list')).status).toBe(401);
    expect((await bobClient.query('runs.list')).status).toBe(401);
    const again = await new Client(srv).mutate('auth.signIn', { username: 'bob', password: PASSWORD });
    expect(again.status).toBe(403);
    expect(again.message).toMatch(/disabled/);
  });
});

describe('sessions', () => {
  it('sign-out deletes the session and closes its sockets; a password change ends the other sessions only', async () => {
    const a = await signedIn('vera');
    const b = await signedIn('vera');
    const s = socketOf(b);
    expect(await outcome(s)).toBe('connected');
    const dropped = new Promise((r) => s.once('disconnect', r));
    const kept = b.cookie;
    const out = await b.mutate('auth.signOut');
    expect(out.status).toBe(200);
    expect([out.headers['set-cookie'] ?? []].flat().join()).toMatch(/df_session=; .*Max-Age=0/);
    await dropped;
    b.cookie = kept;
    expect((await b.query('runs.list')).status).toBe(401);

    const c = await signedIn('vera');
    const wrong = await a.mutate('auth.changePassword', { currentPassword: 'not it at all', newPassword: 'another long one' });
    expect(wrong).toMatchObject({ status: 400, message: 'The current password is wrong' });
    expect((await a.mutate('auth.changePassword', { currentPassword: PASSWORD, newPassword: 'another long one' })).status).toBe(200);
    expect((await a.query('runs.list')).status).toBe(200);
    expect((await c.query('runs.list')).status).toBe(401);
    expect((await viewer.query('runs.list')).status).toBe(401);
    viewer = await signedIn('vera', 'another long one');
  });

  it('the last active admin cannot be demoted, disabled or removed', async () => {
    const me = ((await admin.query('auth.me')).data as { user: { id: string } }).user;
    for (const [path, input] of [
      ['users.update', { id: me.id, role: 'engineer' }],
      ['users.update', { id: me.id, disabled: true }],
      ['users.remove', { id: me.id }],
    ] as const) {
      const res = await admin.mutate(path, input);
      expect([path, res.status, res.code]).toEqual([path, 409, 'CONFLICT']);
      expect(res.message).toMatch(/last active admin/);
    }
    const second = await createUser('root2', 'admin');
    expect((await admin.mutate('users.update', { id: second.id, role: 'viewer' })).status).toBe(200);
    await admin.mutate('users.update', { id: second.id, role: 'admin' });
    expect((await admin.mutate('users.remove', { id: second.id })).status).toBe(200);
    const users = (await admin.query('users.list')).data as Array<Record<string, unknown>>;
    expect(users.map((u) => u.username)).not.toContain('root2');
    expect(JSON.stringify(users)).not.toMatch(/argon2|passwordHash/);
  });
});

describe('sign-in rate limits', () => {
  it('per username: after the failures the right password is refused too, with the seconds to wait', async () => {
    await createUser('carol', 'viewer');
    for (let i = 0; i < 3; i++) {
      const res = await new Client(srv, { 'x-forwarded-for': `10.1.0.${i}` }).mutate('auth.signIn', { username: 'carol', password: 'wrong password' });
      expect(res).toMatchObject({ status: 401, message: 'Wrong username or password' });
    }
    const res = await new Client(srv, { 'x-forwarded-for': '10.1.0.9' }).mutate('auth.signIn', { username: 'carol', password: PASSWORD });
    expect(res).toMatchObject({ status: 429, code: 'TOO_MANY_REQUESTS' });
    expect(res.message).toMatch(/^Too many failed sign-ins: try again in \d+ s$/);
  });

  it('per client IP: failures on any usernames lock that address, not others', async () => {
    await createUser('dave', 'viewer');
    const from = (ip: string) => new Client(srv, { 'x-forwarded-for': ip });
    for (const name of ['nobody1', 'nobody2', 'nobody3']) {
      expect((await from('10.2.0.1').mutate('auth.signIn', { username: name, password: 'whatever it is' })).status).toBe(401);
    }
    expect((await from('10.2.0.1').mutate('auth.signIn', { username: 'dave', password: PASSWORD })).status).toBe(429);
    expect((await from('10.2.0.2').mutate('auth.signIn', { username: 'dave', password: PASSWORD })).status).toBe(200);
  });
});
