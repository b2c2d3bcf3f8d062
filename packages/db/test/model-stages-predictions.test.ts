/**
 * Model versions and stages (promote, roll back, by hand) and the prediction log's repository; the migration that
 * turns the former `active` flag into the production stage and numbers existing models.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineGraph } from '@defectflow/nodes';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CreatePredictionInput, createDb, type DbHandle, MIGRATIONS_DIR } from '../src/index.ts';
import { type Backend, pgliteBackend, postgresBackend } from './backends.ts';

const graph: PipelineGraph = { version: 1, nodes: [], edges: [] };
const MIGRATION_TAG = 'model_stages_and_prediction_log';

function suite(backend: Backend) {
  let h: DbHandle;
  beforeAll(async () => {
    h = await createDb(await backend.prepare('stages'));
  });
  afterAll(async () => {
    await h?.close();
    await backend.cleanup();
  });

  const model = (lineId: string | null, id: string) =>
    h.repo.models.create({ id, productLineId: lineId, name: id, dir: `/m/${id}`, labels: ['good', 'bad'], inputSize: 64 });

  it('numbers models 1, 2, … per product line in registration order; new models are staging', async () => {
    const a = await h.repo.productLines.create('Versions A');
    const b = await h.repo.productLines.create('Versions B');
    const a1 = await model(a.id, 'va-1');
    const b1 = await model(b.id, 'vb-1');
    const a2 = await model(a.id, 'va-2');
    expect([a1.version, b1.version, a2.version]).toEqual([1, 1, 2]);
    expect(a2.stage).toBe('staging');
    expect((await h.repo.models.getByVersion(a.id, 2))?.id).toBe('va-2');
    expect(await h.repo.models.getByVersion(a.id, 3)).toBeNull();
  });

  it('promote: one production per line, the replaced one archived; rollback walks back; nothing to restore → conflict', async () => {
    const line = await h.repo.productLines.create('Stages');
    await model(line.id, 's-1');
    await model(line.id, 's-2');
    await model(line.id, 's-3');
    await expect(h.repo.models.rollback(line.id)).rejects.toThrow(/no earlier production version to roll back to/);

    expect((await h.repo.models.promote('s-1')).replaced).toBeNull();
    const second = await h.repo.models.promote('s-2');
    expect(second.model).toMatchObject({ id: 's-2', stage: 'production', retiredAt: null });
    expect(second.replaced).toMatchObject({ id: 's-1', stage: 'archived' });
    expect(second.replaced?.retiredAt).toBeInstanceOf(Date);
    await h.repo.models.promote('s-3');
    expect((await h.repo.models.getProduction(line.id))?.id).toBe('s-3');
    expect((await h.repo.models.rollbackTarget(line.id))?.id).toBe('s-2');

    const back = await h.repo.models.rollback(line.id);
    expect(back.model).toMatchObject({ id: 's-2', stage: 'production' });
    expect(back.replaced).toMatchObject({ id: 's-3', stage: 'staging' }); // a candidate again, not a rollback target
    expect((await h.repo.models.rollback(line.id)).model.id).toBe('s-1'); // twice: further back, not a swap
    await expect(h.repo.models.rollback(line.id)).rejects.toThrow(/no earlier production version/);
    const stages = Object.fromEntries((await h.repo.models.list(line.id)).map((m) => [m.id, m.stage]));
    expect(stages).toEqual({ 's-1': 'production', 's-2': 'staging', 's-3': 'staging' });
  });

  it('the database refuses a second production model in a line; archiving by hand makes no rollback target', async () => {
    const line = await h.repo.productLines.create('Unique production');
    await model(line.id, 'u-1');
    await model(line.id, 'u-2');
    await h.repo.models.promote('u-1');
    await expect(h.db.execute(sql`update models set stage = 'production' where id = 'u-2'`)).rejects.toThrow();
    await expect(h.db.execute(sql`update models set stage = 'live' where id = 'u-2'`)).rejects.toThrow();
    expect((await h.repo.models.setStage('u-2', 'archived')).stage).toBe('archived');
    expect(await h.repo.models.rollbackTarget(line.id)).toBeNull();
    await expect(h.repo.models.promote('nope')).rejects.toThrow(/model nope does not exist/);
  });

  it('predictions: insert, page newest first, kept image bytes, drop oldest images, prune by age, cascade with the model', async () => {
    const line = await h.repo.productLines.create('Log');
    await model(line.id, 'log-1');
    const t0 = Date.parse('2030-01-01T00:00:00Z');
    const row = (k: number, kept: boolean): CreatePredictionInput => ({
      createdAt: new Date(t0 + k * 1000),
      modelId: 'log-1',
      modelVersion: 1,
      label: k % 2 ? 'bad' : 'good',
      confidence: 0.5 + k / 100,
      probabilities: { good: 0.5, bad: 0.5 },
      lowConfidence: !kept,
      latencyMs: 12,
      imageSha256: `sha-${k}`,
      imageName: `img-${k}.png`,
      imageBytes: 100 + k,
      source: k % 2 ? 'api' : 'ui',
      imagePath: kept ? `log-1/img-${k}.png` : null,
      imageReason: kept ? 'sample' : null,
    });
    await h.repo.predictions.insert([0, 1, 2, 3, 4].map((k) => row(k, k !== 2)));
    expect(await h.repo.predictions.count('log-1')).toBe(5);
    const first = await h.repo.predictions.list({ modelId: 'log-1', limit: 2 });
    expect(first.map((r) => r.imageSha256)).toEqual(['sha-4', 'sha-3']);
    const last = first.at(-1)!;
    const next = await h.repo.predictions.list({ modelId: 'log-1', limit: 10, after: { createdAt: last.createdAt, id: last.id } });
    expect(next.map((r) => r.imageSha256)).toEqual(['sha-2', 'sha-1', 'sha-0']);

    expect(await h.repo.predictions.keptImageBytes()).toBe(100 + 101 + 103 + 104);
    const oldest = await h.repo.predictions.oldestKeptImages(2);
    expect(oldest.map((r) => r.imagePath)).toEqual(['log-1/img-0.png', 'log-1/img-1.png']);
    await h.repo.predictions.clearImages(oldest.map((r) => r.id));
    expect(await h.repo.predictions.keptImageBytes()).toBe(103 + 104);
    expect((await h.repo.predictions.get(oldest[0]!.id))?.imageSha256).toBe('sha-0'); // the row keeps its hash

    const pruned = await h.repo.predictions.removeOlderThan(new Date(t0 + 3000), 100);
    expect(pruned.map((r) => r.imagePath).sort()).toEqual([null, null, null]);
    expect(await h.repo.predictions.count('log-1')).toBe(2);

    await h.repo.models.remove('log-1');
    expect(await h.repo.predictions.count('log-1')).toBe(0);
  });
}

describe('model stages and the prediction log (PGlite)', () => suite(pgliteBackend()));
const url = process.env.TEST_DATABASE_URL;
if (url) describe('model stages and the prediction log (PostgreSQL)', () => suite(postgresBackend(url)));

describe(`migration ${MIGRATION_TAG}`, () => {
  it('turns an existing database with an active model into one with versions and that model in production', async () => {
    const root = mkdtempSync(join(tmpdir(), 'defectflow-stage-migration-'));
    try {
      // The migrations before this one: a copy of the folder whose journal stops just before it.
      const before = join(root, 'migrations-before');
      cpSync(MIGRATIONS_DIR, before, { recursive: true });
      const journalFile = join(before, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalFile, 'utf8')) as { entries: Array<{ tag: string }> };
      const at = journal.entries.findIndex((e) => e.tag.endsWith(MIGRATION_TAG));
      expect(at).toBeGreaterThan(0);
      journal.entries = journal.entries.slice(0, at);
      writeFileSync(journalFile, JSON.stringify(journal));

      const dataDir = join(root, 'data');
      const old = await createDb({ dataDir, migrationsFolder: before });
      const line = await old.repo.productLines.create('Old line');
      const run = await old.repo.runs.create({ productLineId: line.id, graph });
      // Raw SQL: the repositories already speak the new schema.
      for (const [id, when, active] of [
        ['old-b', '2024-01-02', true],
        ['old-a', '2024-01-01', false],
        ['old-c', '2024-01-03', false],
      ] as const) {
        await old.db.execute(
          sql`insert into models (id, run_id, product_line_id, name, dir, labels, input_size, active, created_at)
              values (${id}, ${run.id}, ${line.id}, ${id}, ${`/m/${id}`}, '["a"]'::jsonb, 64, ${active}, ${when}::timestamptz)`,
        );
      }
      await old.db.execute(
        sql`insert into models (id, name, dir, labels, input_size, active) values ('loose', 'loose', '/m/loose', '["a"]'::jsonb, 64, false)`,
      );
      await old.close();

      const migrated = await createDb({ dataDir });
      try {
        const rows = Object.fromEntries((await migrated.repo.models.list()).map((m) => [m.id, [m.version, m.stage]]));
        expect(rows).toEqual({
          'old-a': [1, 'staging'],
          'old-b': [2, 'production'],
          'old-c': [3, 'staging'],
          loose: [1, 'staging'],
        });
        expect((await migrated.repo.models.getProduction(line.id))?.id).toBe('old-b');
        // New models continue the numbering.
        const next = await migrated.repo.models.create({ productLineId: line.id, name: 'new', dir: '/m/new', labels: ['a'], inputSize: 64 });
        expect(next.version).toBe(4);
      } finally {
        await migrated.close();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
