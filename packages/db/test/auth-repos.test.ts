/** users / sessions / api_tokens repositories, on PGlite and (with TEST_DATABASE_URL) PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConflictError, createDb, type DbHandle } from '../src/index.ts';
import { type Backend, pgliteBackend, postgresBackend } from './backends.ts';

function authSuite(backend: Backend) {
  let h: DbHandle;
  beforeAll(async () => {
    h = await createDb(await backend.prepare('auth'));
  });
  afterAll(async () => {
    await h?.close();
    await backend.cleanup();
  });

  it('creates the first user once, lower-cases names, refuses duplicates', async () => {
    const first = await h.repo.users.createFirst({ username: 'Root', passwordHash: 'h', role: 'admin' });
    expect(first).toMatchObject({ username: 'root', role: 'admin', disabled: 0 });
    expect(await h.repo.users.createFirst({ username: 'other', passwordHash: 'h', role: 'admin' })).toBeNull();
    await expect(h.repo.users.create({ username: 'ROOT', passwordHash: 'h', role: 'viewer' })).rejects.toThrow(ConflictError);
    expect((await h.repo.users.getByUsername('rOOt'))?.id).toBe(first!.id);
  });

  it('keeps one active admin: no demoting, disabling or removing the last one', async () => {
    const root = (await h.repo.users.getByUsername('root'))!;
    await expect(h.repo.users.update(root.id, { role: 'viewer' })).rejects.toThrow(/last active admin/);
    await expect(h.repo.users.update(root.id, { disabled: true })).rejects.toThrow(/last active admin/);
    await expect(h.repo.users.remove(root.id)).rejects.toThrow(/last active admin/);
    const second = await h.repo.users.create({ username: 'second', passwordHash: 'h', role: 'admin' });
    expect(await h.repo.users.update(root.id, { disabled: true })).toMatchObject({ disabled: 1 });
    // root is disabled: second is now the last active admin
    await expect(h.repo.users.update(second.id, { role: 'engineer' })).rejects.toThrow(ConflictError);
    await h.repo.users.update(root.id, { disabled: false });
    await h.repo.users.remove(second.id);
    expect((await h.repo.users.list()).map((u) => u.username)).toEqual(['root']);
  });

  it('sessions: found with their user, removed per user except one, expired ones pruned', async () => {
    const u = await h.repo.users.create({ username: 'sam', passwordHash: 'h', role: 'viewer' });
    const later = new Date(Date.now() + 3_600_000);
    for (const t of ['s1', 's2', 's3']) await h.repo.sessions.create({ tokenHash: t, userId: u.id, expiresAt: later });
    await h.repo.sessions.create({ tokenHash: 'old', userId: u.id, expiresAt: new Date(Date.now() - 1000) });
    expect((await h.repo.sessions.find('s1'))?.user.username).toBe('sam');
    expect(await h.repo.sessions.removeExpired()).toBe(1);
    expect((await h.repo.sessions.removeForUser(u.id, 's2')).sort()).toEqual(['s1', 's3']);
    expect(await h.repo.sessions.find('s2')).not.toBeNull();
    await h.repo.users.remove(u.id);
    expect(await h.repo.sessions.find('s2')).toBeNull(); // cascade
  });

  it('API tokens: listed without hash, revoked only by their owner', async () => {
    const a = await h.repo.users.create({ username: 'ann', passwordHash: 'h', role: 'engineer' });
    const b = await h.repo.users.create({ username: 'ben', passwordHash: 'h', role: 'engineer' });
    const t = await h.repo.apiTokens.create({ userId: a.id, name: 'ci', tokenHash: 'hash-a', prefix: 'dft_abcdef' });
    expect(Object.keys((await h.repo.apiTokens.listForUser(a.id))[0]!).sort()).toEqual(
      ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'prefix'],
    );
    expect(await h.repo.apiTokens.revoke(t.id, b.id)).toBe(false);
    expect((await h.repo.apiTokens.find('hash-a'))?.user.username).toBe('ann');
    expect(await h.repo.apiTokens.revoke(t.id, a.id)).toBe(true);
    expect(await h.repo.apiTokens.find('hash-a')).toBeNull();
  });
}

describe('auth repositories on PGlite', () => {
  authSuite(pgliteBackend());
});

const url = process.env.TEST_DATABASE_URL;
if (url) {
  describe('auth repositories on PostgreSQL', () => {
    authSuite(postgresBackend(url));
  });
}
