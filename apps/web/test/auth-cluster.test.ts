/**
 * Cluster mode, accounts: two web servers (two AuthService instances on one database and one real redis-server)
 * print and accept the same setup code, count failed sign-ins together (N servers do not allow N times the
 * guesses), and a revocation on one reaches the other's listeners (its browser sockets close).
 */
import type { DbHandle } from '@defectflow/db';
import { type RedisServer, startRedisServer } from '@defectflow/runner/testing/redis-server';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AuthService, type Revocation } from '../server/auth/service.ts';
import { redisAuthState } from '../server/cluster/shared-auth.ts';
import type { Logger } from '../server/log.ts';
import { memoryDb } from './helpers.ts';

let server: RedisServer;
let redis: Redis;
const open: { auth: AuthService; redis: Redis }[] = [];
const client = { ip: '10.0.0.7', secure: false };

beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url, { maxRetriesPerRequest: null });
});

afterEach(async () => {
  for (const o of open.splice(0)) {
    o.auth.close();
    o.redis.disconnect();
  }
  await redis.flushall();
});

afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

async function webServer(db: DbHandle): Promise<{ auth: AuthService; logs: string[] }> {
  const logs: string[] = [];
  const log: Logger = { info: (m) => logs.push(m), warn: (m) => logs.push(m), error: (m) => logs.push(m) };
  const conn = new Redis(server.url, { maxRetriesPerRequest: null });
  const auth = new AuthService(
    db.repo,
    { enabled: true, sessionTtlMs: 3_600_000, sessionMaxMs: 86_400_000, signInMaxFailures: 4, signInWindowMs: 60_000 },
    log,
    redisAuthState(conn, log),
  );
  await auth.bootstrap();
  open.push({ auth, redis: conn });
  return { auth, logs };
}

const codeIn = (logs: string[]) => logs.map((l) => /setup code: (\S+)/.exec(l)?.[1]).find(Boolean);

describe('accounts across web servers (cluster mode)', () => {
  it('every server prints the same setup code; setup on one ends it on all', async () => {
    const db = await memoryDb();
    const a = await webServer(db);
    const b = await webServer(db);
    const code = codeIn(a.logs);
    expect(code).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/);
    expect(codeIn(b.logs)).toBe(code);
    // Copied from server a's log, typed into a page that server b answers.
    const signedIn = await b.auth.setup(code!, 'root', 'correct horse battery', client);
    expect(signedIn.user).toMatchObject({ username: 'root', role: 'admin' });
    await expect(a.auth.setup(code!, 'root2', 'correct horse battery', client)).rejects.toThrow(/Setup is done/);
    // A server starting later prints no code.
    const c = await webServer(db);
    expect(codeIn(c.logs)).toBeUndefined();
    await db.close();
  });

  it('failed sign-ins count across servers: the limit holds whichever server a guess lands on', async () => {
    const db = await memoryDb();
    const a = await webServer(db);
    const b = await webServer(db);
    await a.auth.createUser('ana', 'the right password', 'engineer');
    // SIGNIN_MAX_FAILURES=4: two wrong guesses on each server, then the fifth attempt is refused on either.
    for (const server of [a, b, a, b]) await expect(server.auth.signIn('ana', 'guess', client)).rejects.toThrow(/Wrong username or password/);
    await expect(a.auth.signIn('ana', 'the right password', client)).rejects.toThrow(/Too many failed sign-ins: try again in \d+ s/);
    await expect(b.auth.signIn('ana', 'the right password', { ...client, ip: '10.0.0.8' })).rejects.toThrow(/Too many failed sign-ins/);
    await db.close();
  });

  it('a success on one server resets the username count for all; a revocation on one reaches the other’s listeners', async () => {
    const db = await memoryDb();
    const a = await webServer(db);
    const b = await webServer(db);
    await a.auth.createUser('bo', 'the right password', 'engineer');
    for (let i = 0; i < 3; i++) await expect(a.auth.signIn('bo', 'guess', { ...client, ip: `10.0.1.${i}` })).rejects.toThrow(/Wrong/);
    const signedIn = await b.auth.signIn('bo', 'the right password', { ...client, ip: '10.0.2.1' });
    // The username's count was reset on every server: three more wrong guesses (new addresses) are still answered.
    for (let i = 0; i < 3; i++) await expect(a.auth.signIn('bo', 'guess', { ...client, ip: `10.0.3.${i}` })).rejects.toThrow(/Wrong/);

    const seenOnA: Revocation[] = [];
    a.auth.onRevoked((r) => seenOnA.push(r));
    const principal = await b.auth.resolve({ cookie: `df_session=${signedIn.sessionToken}` });
    expect(principal.kind).toBe('user');
    await b.auth.signOut(principal);
    await expect.poll(() => seenOnA.length, { timeout: 5_000 }).toBe(1);
    expect(seenOnA[0]?.sessionHashes).toHaveLength(1);
    await db.close();
  });
});
