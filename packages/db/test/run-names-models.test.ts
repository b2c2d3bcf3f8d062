/** Run names/notes and template links; model rename, production-per-line (formerly `active`) and removal (migration 0002). */
import type { PipelineGraph } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type DbHandle } from '../src/index.ts';
import { type Backend, pgliteBackend, postgresBackend } from './backends.ts';

const graph: PipelineGraph = { version: 1, nodes: [], edges: [] };

function suite(backend: Backend) {
  let h: DbHandle;
  beforeAll(async () => {
    h = await createDb(await backend.prepare('runnames'));
  });
  afterAll(async () => {
    await h?.close();
    await backend.cleanup();
  });

  it('a run keeps its template, a name and notes; runs filter by template', async () => {
    const line = await h.repo.productLines.create('Line');
    const t = await h.repo.templates.save({ productLineId: line.id, name: 'T', graph, message: 'v1' });
    const run = await h.repo.runs.create({ productLineId: line.id, templateId: t.template.id, templateVersionId: t.version.id, graph });
    await h.repo.runs.create({ productLineId: line.id, graph });
    expect(run).toMatchObject({ templateId: t.template.id, templateVersionId: t.version.id, name: null, notes: null });
    expect(await h.repo.runs.update(run.id, { name: 'lr 0.001', notes: 'more epochs next' })).toMatchObject({
      name: 'lr 0.001',
      notes: 'more epochs next',
    });
    expect((await h.repo.runs.list({ templateId: t.template.id })).map((r) => r.id)).toEqual([run.id]);
  });

  it('one active model per product line; rename; remove; models of a run', async () => {
    const line = await h.repo.productLines.create('Models line');
    const run = await h.repo.runs.create({ productLineId: line.id, graph });
    const base = { productLineId: line.id, dir: '/m', labels: ['a'], inputSize: 64 };
    const a = await h.repo.models.create({ ...base, id: 'model-a', name: 'a', runId: run.id });
    const b = await h.repo.models.create({ ...base, id: 'model-b', name: 'b' });
    expect(a.stage).toBe('staging');
    // setActive is the former `active` flag: true promotes (the replaced production model is archived).
    await h.repo.models.setActive(a.id, true);
    await h.repo.models.setActive(b.id, true);
    expect((await h.repo.models.get(a.id))?.stage).toBe('archived');
    expect((await h.repo.models.get(b.id))?.stage).toBe('production');
    expect((await h.repo.models.setActive(b.id, false)).stage).toBe('staging');
    expect((await h.repo.models.rename(a.id, 'steel v2')).name).toBe('steel v2');
    await expect(h.repo.models.rename('nope', 'x')).rejects.toThrow(/model nope does not exist/);
    expect((await h.repo.models.listByRun(run.id)).map((m) => m.id)).toEqual([a.id]);
    expect(await h.repo.models.remove(a.id)).toBe(true);
    expect(await h.repo.models.get(a.id)).toBeNull();
  });
}

describe('run names and model state (PGlite)', () => suite(pgliteBackend()));
const url = process.env.TEST_DATABASE_URL;
if (url) describe('run names and model state (PostgreSQL)', () => suite(postgresBackend(url)));
