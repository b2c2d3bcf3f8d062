/**
 * Web servers started at once on one PostgreSQL database (cluster mode behind a load balancer): every one opens it
 * (the migrations run once, under an advisory lock, instead of colliding in the catalog), and `exclusive` runs one
 * start-up step at a time across processes' connections.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../src/index.ts';
import { createFreshDatabase, type FreshDatabase } from '../src/testing.ts';

const url = process.env.TEST_DATABASE_URL;

describe.runIf(url)('opening one fresh PostgreSQL database from several servers at once', () => {
  const fresh: FreshDatabase[] = [];
  const handles: DbHandle[] = [];
  afterAll(async () => {
    for (const h of handles.splice(0)) await h.close();
    for (const f of fresh.splice(0)) await f.drop();
  });

  it('four handles opened at once all succeed, with every table created once', async () => {
    const db = await createFreshDatabase(url!, 'defectflow_t_concurrent');
    fresh.push(db);
    const opened = await Promise.all([1, 2, 3, 4].map(() => createDb({ url: db.url })));
    handles.push(...opened);
    // Each can use the schema.
    const line = await opened[0]!.repo.productLines.create('Line A', 'made by the first');
    for (const h of opened) expect((await h.repo.productLines.list()).map((p) => p.id)).toContain(line.id);
  });

  it('exclusive runs one step under a name at a time, and another name alongside', async () => {
    const [a, b] = handles;
    const log: string[] = [];
    const step = (who: string, ms: number) => async () => {
      log.push(`${who} in`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`${who} out`);
      return who;
    };
    const [ra, rb, rc] = await Promise.all([a!.exclusive('seed', step('a', 300)), b!.exclusive('seed', step('b', 10)), b!.exclusive('other', step('c', 10))]);
    expect([ra, rb, rc]).toEqual(['a', 'b', 'c']);
    const seed = log.filter((l) => !l.startsWith('c'));
    // Never both inside: whichever got the lock first left before the other entered.
    expect([['a in', 'a out', 'b in', 'b out'], ['b in', 'b out', 'a in', 'a out']]).toContainEqual(seed);
    // "other" did not wait for the 300 ms "seed" step.
    expect(log.indexOf('c out')).toBeLessThan(log.indexOf('a out'));
    // A step that throws releases the lock.
    await expect(a!.exclusive('seed', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await b!.exclusive('seed', async () => 'after')).toBe('after');
  });
});
