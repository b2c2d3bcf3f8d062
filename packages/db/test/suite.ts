/** The one suite body every backend runs (see db.test.ts). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppendOptions,
  ConflictError,
  createDb,
  createRepositories,
  type DbHandle,
  MIGRATIONS_DIR,
  NotFoundError,
  runEvents,
  templateVersions,
} from '../src/index.ts';
import type { Backend } from './backends.ts';

export function graphWith(epochs: number): PipelineGraph {
  return {
    version: 1,
    nodes: [
      { id: 'd', type: 'dataset', params: { path: 'sample-steel' }, position: { x: 0, y: 0 } },
      { id: 't', type: 'train', params: { epochs }, position: { x: 200, y: 0 } },
    ],
    edges: [{ id: 'e1', source: 'd', sourceHandle: 'dataset', target: 't', targetHandle: 'dataset' }],
  };
}

let counter = 0;
const unique = (prefix: string) => `${prefix} ${Date.now().toString(36)}-${++counter}`;

function event(runId: string, seq: number, body: Record<string, unknown>): RunEvent {
  return { runId, seq, ts: 1_700_000_000_000 + seq * 1000, ...body } as RunEvent;
}

export function dbSuite(backend: Backend): void {
  let h: DbHandle;

  beforeAll(async () => {
    h = await createDb(await backend.prepare('main'));
  });
  afterAll(async () => {
    await h?.close();
    await backend.cleanup();
  });

  it(`opens the ${backend.name} driver`, () => {
    expect(h.kind).toBe(backend.name);
  });

  it('applies migrations idempotently: opening the same store twice keeps one record per migration', async () => {
    const target = await backend.prepare('migrations');
    const journal = JSON.parse(readFileSync(join(MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as {
      entries: unknown[];
    };
    for (let i = 0; i < 2; i++) {
      const handle = await createDb(target);
      try {
        // postgres.js returns the rows array, PGlite a { rows } result.
        const result: unknown = await handle.db.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`);
        const rows = (Array.isArray(result) ? result : (result as { rows: unknown[] }).rows) as Array<{ n: number }>;
        expect(rows[0]?.n).toBe(journal.entries.length);
        expect(await handle.repo.productLines.list()).toEqual([]);
      } finally {
        await handle.close();
      }
    }
  });

  it('keeps data across close and reopen', async () => {
    const target = await backend.prepare('persist');
    const first = await createDb(target);
    const line = await first.repo.productLines.create('Hot-rolled strip', 'Line 3');
    await first.close();
    const second = await createDb(target);
    try {
      expect(await second.repo.productLines.get(line.id)).toMatchObject({ name: 'Hot-rolled strip', description: 'Line 3' });
    } finally {
      await second.close();
    }
  });

  describe('product lines', () => {
    it('creates, lists, renames and refuses duplicate names', async () => {
      const name = unique('Castings');
      const line = await h.repo.productLines.create(name);
      expect(line.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(line.createdAt).toBeInstanceOf(Date);
      await expect(h.repo.productLines.create(name)).rejects.toBeInstanceOf(ConflictError);
      const renamed = await h.repo.productLines.rename(line.id, `${name} v2`);
      expect(renamed.name).toBe(`${name} v2`);
      expect((await h.repo.productLines.list()).map((l) => l.id)).toContain(line.id);
      await expect(h.repo.productLines.rename('missing', 'x')).rejects.toBeInstanceOf(NotFoundError);
      expect(await h.repo.productLines.get('missing')).toBeNull();
    });
  });

  describe('templates', () => {
    it('appends a version on every save and restores an old graph as a new version', async () => {
      const line = await h.repo.productLines.create(unique('Welds'));
      const v1 = await h.repo.templates.save({ productLineId: line.id, name: 'Baseline', graph: graphWith(1), message: 'first' });
      expect(v1.version.version).toBe(1);
      const v2 = await h.repo.templates.save({
        templateId: v1.template.id,
        productLineId: line.id,
        name: 'Baseline',
        graph: graphWith(2),
        message: 'more epochs',
      });
      expect(v2.template.id).toBe(v1.template.id);
      expect(v2.version.version).toBe(2);

      const restored = await h.repo.templates.restore(v1.template.id, v1.version.id);
      expect(restored.version).toBe(3);
      expect(restored.graph).toEqual(graphWith(1));
      expect(restored.message).toBe('Restored version 1');

      expect((await h.repo.templates.versions(v1.template.id)).map((v) => v.version)).toEqual([3, 2, 1]);
      const got = await h.repo.templates.get(v1.template.id);
      expect(got?.latestVersion?.version).toBe(3);
      expect(await h.repo.templates.getVersion(v2.version.id)).toMatchObject({ version: 2, graph: graphWith(2) });
      const listed = await h.repo.templates.list(line.id);
      expect(listed).toHaveLength(1);
      expect(listed[0]?.latestVersion?.version).toBe(3);
    });

    it('saving an existing name without templateId appends to that template', async () => {
      const line = await h.repo.productLines.create(unique('Gears'));
      const a = await h.repo.templates.save({ productLineId: line.id, name: 'T', graph: graphWith(1) });
      const b = await h.repo.templates.save({ productLineId: line.id, name: 'T', graph: graphWith(5) });
      expect(b.template.id).toBe(a.template.id);
      expect(b.version.version).toBe(2);
    });

    it('numbers concurrent saves without gaps or duplicates', async () => {
      const line = await h.repo.productLines.create(unique('Bearings'));
      const first = await h.repo.templates.save({ productLineId: line.id, name: 'C', graph: graphWith(1) });
      await Promise.all(
        [2, 3, 4, 5].map((n) =>
          h.repo.templates.save({ templateId: first.template.id, productLineId: line.id, name: 'C', graph: graphWith(n) }),
        ),
      );
      expect((await h.repo.templates.versions(first.template.id)).map((v) => v.version)).toEqual([5, 4, 3, 2, 1]);
    });

    it('rejects a restore of a version that belongs to another template', async () => {
      const line = await h.repo.productLines.create(unique('Plates'));
      const a = await h.repo.templates.save({ productLineId: line.id, name: 'A', graph: graphWith(1) });
      const b = await h.repo.templates.save({ productLineId: line.id, name: 'B', graph: graphWith(2) });
      await expect(h.repo.templates.restore(a.template.id, b.version.id)).rejects.toBeInstanceOf(NotFoundError);
      await expect(
        h.repo.templates.save({ templateId: a.template.id, productLineId: line.id, name: 'B', graph: graphWith(3) }),
      ).rejects.toBeInstanceOf(ConflictError);
    });
  });

  describe('pipelines', () => {
    it('inserts, updates in place and filters by product line', async () => {
      const line = await h.repo.productLines.create(unique('Tubes'));
      const t = await h.repo.templates.save({ productLineId: line.id, name: 'T', graph: graphWith(1) });
      const p = await h.repo.pipelines.save({
        productLineId: line.id,
        name: 'Night shift',
        graph: graphWith(1),
        templateId: t.template.id,
        templateVersionId: t.version.id,
      });
      const updated = await h.repo.pipelines.save({ id: p.id, productLineId: line.id, name: 'Night', graph: graphWith(7) });
      expect(updated).toMatchObject({ id: p.id, name: 'Night', graph: graphWith(7), templateVersionId: t.version.id });
      const withId = await h.repo.pipelines.save({ id: 'client-chosen-id', productLineId: line.id, name: 'X', graph: graphWith(1) });
      expect(withId.id).toBe('client-chosen-id');
      expect((await h.repo.pipelines.list(line.id)).map((x) => x.id).sort()).toEqual(['client-chosen-id', p.id].sort());
      expect(await h.repo.pipelines.get(p.id)).toMatchObject({ name: 'Night' });
    });
  });

  describe('runs', () => {
    it('creates, updates, lists newest first and tracks unfinished runs', async () => {
      const line = await h.repo.productLines.create(unique('Rails'));
      const p = await h.repo.pipelines.save({ productLineId: line.id, name: 'P', graph: graphWith(1) });
      const r1 = await h.repo.runs.create({ pipelineId: p.id, productLineId: line.id, graph: graphWith(1), status: 'queued' });
      const r2 = await h.repo.runs.create({ id: 'run-fixed-id', pipelineId: p.id, productLineId: line.id, graph: graphWith(2) });
      expect(r1).toMatchObject({ status: 'queued', lastSeq: 0, graph: graphWith(1) });
      expect(r2.id).toBe('run-fixed-id');

      const started = new Date();
      const running = await h.repo.runs.update(r1.id, { status: 'running', backend: 'cpu', device: 'CPU', startedAt: started });
      expect(running).toMatchObject({ status: 'running', backend: 'cpu', device: 'CPU' });
      expect(running.startedAt?.getTime()).toBe(started.getTime());
      await expect(h.repo.runs.update('missing', { status: 'failed' })).rejects.toBeInstanceOf(NotFoundError);

      const listed = await h.repo.runs.list({ pipelineId: p.id, limit: 10 });
      expect(listed.map((r) => r.id).sort()).toEqual([r1.id, r2.id].sort());
      expect(await h.repo.runs.list({ productLineId: line.id, limit: 1 })).toHaveLength(1);

      const unfinished = (await h.repo.runs.listUnfinished()).map((r) => r.id);
      expect(unfinished).toEqual(expect.arrayContaining([r1.id, r2.id]));

      await h.repo.runs.update(r2.id, { status: 'succeeded', finishedAt: new Date(), metrics: { accuracy: 0.9 } });
      const interrupted = await h.repo.runs.markInterrupted([r1.id, r2.id]);
      expect(interrupted.map((r) => r.id)).toEqual([r1.id]);
      expect(await h.repo.runs.get(r1.id)).toMatchObject({ status: 'interrupted' });
      expect(await h.repo.runs.get(r2.id)).toMatchObject({ status: 'succeeded', metrics: { accuracy: 0.9 } });
      expect((await h.repo.runs.listUnfinished()).map((r) => r.id)).not.toContain(r1.id);
    });
  });

  describe('run ownership', () => {
    it('lists as unfinished for a runner only its own runs and those naming no runner', async () => {
      const mine = await h.repo.runs.create({ graph: graphWith(1), runnerId: 'runner-a' });
      const theirs = await h.repo.runs.create({ graph: graphWith(1), runnerId: 'runner-b' });
      const legacy = await h.repo.runs.create({ graph: graphWith(1) });
      const ids = (rows: { id: string }[]) => rows.map((r) => r.id);
      const forA = ids(await h.repo.runs.listUnfinished({ runnerId: 'runner-a' }));
      expect(forA).toEqual(expect.arrayContaining([mine.id, legacy.id]));
      expect(forA).not.toContain(theirs.id);
      expect(ids(await h.repo.runs.listUnfinished())).toEqual(expect.arrayContaining([mine.id, theirs.id, legacy.id]));
      const unknownRunner = ids(await h.repo.runs.listUnfinished({ runnerId: null }));
      expect(unknownRunner).toContain(legacy.id);
      expect(unknownRunner).not.toContain(mine.id);
      expect(await h.repo.runs.update(legacy.id, { runnerId: 'runner-b' })).toMatchObject({ runnerId: 'runner-b' });
      expect(ids(await h.repo.runs.listUnfinished({ runnerId: 'runner-a' }))).not.toContain(legacy.id);
      await h.repo.runs.markInterrupted([mine.id, theirs.id, legacy.id]);
    });
  });

  describe('run events', () => {
    it('appends idempotently, lists in seq order and advances last_seq', async () => {
      const run = await h.repo.runs.create({ graph: graphWith(1) });
      const events = [
        event(run.id, 1, { type: 'run.started', backend: 'cpu', device: 'CPU' }),
        event(run.id, 2, { type: 'node.started', nodeId: 'd', nodeType: 'dataset' }),
        event(run.id, 3, { type: 'node.log', level: 'info', message: 'ok' }),
        event(run.id, 4, { type: 'train.epoch', nodeId: 't', epoch: 1, epochs: 2, loss: 0.5, acc: 0.8, valLoss: null, valAcc: null, lr: 0.001 }),
      ];
      // Out of order, and with a duplicate batch: the stored history must not change.
      expect(await h.repo.runEvents.append([events[2]!, events[0]!])).toEqual({ inserted: 2 });
      expect(await h.repo.runEvents.lastSeq(run.id)).toBe(1); // seq 2 is missing: 3 does not count yet
      expect(await h.repo.runEvents.append(events)).toEqual({ inserted: 2 });
      expect(await h.repo.runEvents.append(events)).toEqual({ inserted: 0 });

      expect(await h.repo.runEvents.list(run.id)).toEqual(events);
      expect((await h.repo.runEvents.list(run.id, 2)).map((e) => e.seq)).toEqual([3, 4]);
      expect(await h.repo.runEvents.lastSeq(run.id)).toBe(4);
      expect((await h.repo.runs.get(run.id))?.lastSeq).toBe(4);

      const [row] = await h.db.select().from(runEvents).where(eq(runEvents.runId, run.id)).limit(1);
      expect(row?.nodeId).toBeNull(); // run.started has no node
      const [nodeRow] = await h.db.select().from(runEvents).where(sql`${runEvents.runId} = ${run.id} and ${runEvents.seq} = 2`);
      expect(nodeRow?.nodeId).toBe('d');
    });

    it('keeps last_seq gap-free: the highest n with every seq 1..n stored', async () => {
      const run = await h.repo.runs.create({ graph: graphWith(1) });
      const log = (seq: number) => event(run.id, seq, { type: 'node.log', level: 'info', message: `m${seq}` });
      await h.repo.runEvents.append([log(1), log(2), log(4)]);
      expect(await h.repo.runEvents.lastSeq(run.id)).toBe(2);
      await h.repo.runEvents.append([log(6)]);
      expect(await h.repo.runEvents.lastSeq(run.id)).toBe(2);
      await h.repo.runEvents.append([log(3)]);
      expect(await h.repo.runEvents.lastSeq(run.id)).toBe(4);
      await h.repo.runEvents.append([log(5)]);
      expect(await h.repo.runEvents.lastSeq(run.id)).toBe(6);
    });

    it('runs onStored in the insert transaction: a failure stores nothing, a replay applies each event once', async () => {
      const run = await h.repo.runs.create({ graph: graphWith(1) });
      const events = [
        event(run.id, 1, { type: 'run.started', backend: 'cpu', device: 'CPU' }),
        event(run.id, 2, { type: 'run.finished', status: 'succeeded', durationMs: 5 }),
      ];
      const finish = async (stored: RunEvent[], tx: Parameters<NonNullable<AppendOptions['onStored']>>[1]) => {
        for (const e of stored) if (e.type === 'run.finished') await createRepositories(tx).runs.update(run.id, { status: e.status, finishedAt: new Date(e.ts) });
      };
      // The row update fails after the events are inserted: neither the events nor last_seq may stay.
      await expect(
        h.repo.runEvents.append(events, {
          onStored: async (stored, tx) => {
            await finish(stored, tx);
            throw new Error('row update failed');
          },
        }),
      ).rejects.toThrow('row update failed');
      expect(await h.repo.runEvents.list(run.id)).toEqual([]);
      expect(await h.repo.runs.get(run.id)).toMatchObject({ status: 'queued', lastSeq: 0 });

      const applied: number[][] = [];
      const onStored = async (stored: RunEvent[], tx: Parameters<typeof finish>[1]) => {
        applied.push(stored.map((e) => e.seq));
        await finish(stored, tx);
      };
      expect(await h.repo.runEvents.append([events[1]!, events[0]!], { onStored })).toEqual({ inserted: 2 });
      expect(await h.repo.runEvents.append(events, { onStored })).toEqual({ inserted: 0 });
      expect(applied).toEqual([[1, 2]]);
      expect(await h.repo.runs.get(run.id)).toMatchObject({ status: 'succeeded', lastSeq: 2 });
    });

    it('refuses events of a run that has no row', async () => {
      await expect(
        h.repo.runEvents.append([event('no-such-run', 1, { type: 'node.log', level: 'info', message: 'x' })]),
      ).rejects.toBeInstanceOf(NotFoundError);
      expect(await h.repo.runEvents.lastSeq('no-such-run')).toBe(0);
    });
  });

  describe('cascade deletes', () => {
    it('removes template versions with their template and events with their run; links become null', async () => {
      const line = await h.repo.productLines.create(unique('Sheets'));
      const t = await h.repo.templates.save({ productLineId: line.id, name: 'T', graph: graphWith(1) });
      const p = await h.repo.pipelines.save({
        productLineId: line.id,
        name: 'P',
        graph: graphWith(1),
        templateId: t.template.id,
        templateVersionId: t.version.id,
      });
      expect(await h.repo.templates.remove(t.template.id)).toBe(true);
      expect(await h.db.select().from(templateVersions).where(eq(templateVersions.templateId, t.template.id))).toEqual([]);
      expect(await h.repo.pipelines.get(p.id)).toMatchObject({ templateId: null, templateVersionId: null, graph: graphWith(1) });

      const run = await h.repo.runs.create({ pipelineId: p.id, productLineId: line.id, graph: graphWith(1) });
      await h.repo.runEvents.append([event(run.id, 1, { type: 'node.log', level: 'info', message: 'x' })]);
      const model = await h.repo.models.create({
        runId: run.id,
        productLineId: line.id,
        name: 'm',
        dir: 'models/m',
        labels: ['good', 'scratch'],
        inputSize: 96,
      });
      expect(await h.repo.pipelines.remove(p.id)).toBe(true);
      expect((await h.repo.runs.get(run.id))?.pipelineId).toBeNull();
      expect(await h.repo.runs.remove(run.id)).toBe(true);
      expect(await h.repo.runEvents.list(run.id)).toEqual([]);
      expect(await h.db.select().from(runEvents).where(eq(runEvents.runId, run.id))).toEqual([]);
      expect((await h.repo.models.get(model.id))?.runId).toBeNull();
    });
  });

  describe('models and datasets', () => {
    it('registers models and lists them by product line', async () => {
      const line = await h.repo.productLines.create(unique('Bolts'));
      const m = await h.repo.models.create({
        productLineId: line.id,
        name: 'bolts-v1',
        dir: '/data/models/x',
        labels: ['good', 'crack'],
        inputSize: 224,
        metrics: { macroF1: 0.93 },
      });
      expect(await h.repo.models.get(m.id)).toMatchObject({ labels: ['good', 'crack'], inputSize: 224, metrics: { macroF1: 0.93 } });
      expect((await h.repo.models.list(line.id)).map((x) => x.id)).toEqual([m.id]);
    });

    it('upserts datasets by name and records versions', async () => {
      const name = unique('steel');
      const d = await h.repo.datasets.upsert({ name, path: 'steel' });
      const again = await h.repo.datasets.upsert({ name, path: 'steel-2' });
      expect(again).toMatchObject({ id: d.id, path: 'steel-2', version: 1 });
      const v = await h.repo.datasets.addVersion(name, { files: 3 }, 'upload');
      expect(v).toMatchObject({ datasetId: d.id, version: 2, manifest: { files: 3 } });
      expect((await h.repo.datasets.getByName(name))?.version).toBe(2);
      expect(await h.repo.datasets.getByName('nope')).toBeNull();
      expect((await h.repo.datasets.list()).map((x) => x.name)).toContain(name);
      await expect(h.repo.datasets.addVersion('nope', {})).rejects.toBeInstanceOf(NotFoundError);
    });
  });
}
