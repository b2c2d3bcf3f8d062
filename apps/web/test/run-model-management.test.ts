/**
 * Issue 20 (missing pieces): runs get a name and notes, remember the template they came from and name their
 * model after the pipeline; a finished run is deleted with its events, models and files (admin only);
 * models are renamed, marked active per product line and deleted.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PipelineGraph } from '@defectflow/nodes';
import { afterAll, describe, expect, it } from 'vitest';
import type { Principal } from '../server/auth/principal.ts';
import { FakeRunnerControl, makeCaller, memoryDb, tempDir } from './helpers.ts';

const db = await memoryDb();
afterAll(() => db.close());

const example = JSON.parse(readFileSync(join(import.meta.dirname, '../../../examples/default-pipeline.json'), 'utf8')) as PipelineGraph;
const engineer: Principal = { kind: 'user', via: 'session', user: { id: 'u-eng', username: 'eng', role: 'engineer' } };

describe('run names, notes, links and deletion; model rename, active, deletion', () => {
  const runner = new FakeRunnerControl();
  const paths = { dataDir: tempDir(), datasetsRoot: tempDir(), modelsDir: tempDir() };
  const api = makeCaller(db, runner, { paths });
  const asEngineer = makeCaller(db, runner, { paths, principal: engineer });
  let lineId = '';
  let runId = '';

  it('a run started from a pipeline linked to a template records both, and its deploy node takes the pipeline name', async () => {
    lineId = (await api.productLines.create({ name: 'Strip line' })).id;
    const t = await api.templates.save({ productLineId: lineId, name: 'Strip template', graph: example, message: 'v1' });
    const { id: pipelineId } = await api.pipelines.save({
      productLineId: lineId,
      name: 'Strip — line 2 (night shift)',
      graph: example,
      templateId: t.templateId,
      templateVersionId: t.versionId,
    });
    const started = await api.runs.start({ graph: example, pipelineId });
    if (!started.ok) throw new Error(JSON.stringify(started.errors));
    runId = started.runId;
    const run = await api.runs.get({ runId });
    expect(run).toMatchObject({ pipelineId, templateId: t.templateId, templateVersionId: t.versionId, productLineId: lineId });
    expect(await api.runs.links({ runId })).toMatchObject({
      pipeline: { id: pipelineId, name: 'Strip — line 2 (night shift)' },
      template: { id: t.templateId, name: 'Strip template', versionId: t.versionId, version: 1 },
      productLine: { id: lineId, name: 'Strip line' },
      datasets: [{ nodeId: 'dataset', name: 'sample-steel' }],
      models: [],
    });
    const deploy = runner.started.at(-1)?.graph.nodes.find((n) => n.type === 'deploy');
    expect(deploy?.params.name).toBe('Strip line 2 night shift');
    // A name the user chose is kept.
    const named = structuredClone(example);
    for (const n of named.nodes) if (n.type === 'deploy') n.params.name = 'coil-v3';
    await api.runs.start({ graph: named, pipelineId });
    expect(runner.started.at(-1)?.graph.nodes.find((n) => n.type === 'deploy')?.params.name).toBe('coil-v3');
    // Filtering by template finds runs of pipelines made from it.
    expect((await api.runs.list({ templateId: t.templateId })).length).toBe(2);
  });

  it('names a run and keeps notes; a viewer may not, an unknown run is NOT_FOUND', async () => {
    const row = await asEngineer.runs.update({ runId, name: '  lr 0.001  ', notes: 'try more epochs' });
    expect(row).toMatchObject({ name: 'lr 0.001', notes: 'try more epochs' });
    expect((await api.runs.list()).find((r) => r.id === runId)?.name).toBe('lr 0.001');
    expect(await api.runs.update({ runId, name: '' })).toMatchObject({ name: null, notes: 'try more epochs' });
    const viewer = makeCaller(db, runner, { paths, principal: { ...engineer, user: { ...engineer.user, role: 'viewer' } } });
    await expect(viewer.runs.update({ runId, name: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(api.runs.update({ runId: 'nope', name: 'x' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'run nope does not exist' });
  });

  it('deletes a finished run with its events, models and folders, after saying what goes; admin only', async () => {
    const modelDir = join(paths.modelsDir, 'strip-model');
    mkdirSync(modelDir, { recursive: true });
    writeFileSync(join(modelDir, 'model.json'), '{}');
    const runDir = join(paths.dataDir, 'runs', runId);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'events.jsonl'), '');
    await db.repo.models.create({ id: 'strip-model', runId, productLineId: lineId, name: 'Strip', dir: modelDir, labels: ['a'], inputSize: 64 });
    await db.repo.runEvents.append([{ type: 'run.started', runId, seq: 1, ts: Date.now(), backend: 'cpu', device: 'test' }]);

    await expect(api.runs.delete({ runId })).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringContaining('cancel it') });
    await db.repo.runs.update(runId, { status: 'succeeded' });
    expect(await api.runs.deletion({ runId })).toMatchObject({ finished: true, events: 1, models: [{ id: 'strip-model', name: 'Strip' }] });
    await expect(asEngineer.runs.delete({ runId })).rejects.toMatchObject({ code: 'FORBIDDEN' });

    expect(await api.runs.delete({ runId })).toMatchObject({ deleted: true, models: ['strip-model'] });
    await expect(api.runs.get({ runId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await db.repo.runEvents.list(runId)).toEqual([]);
    expect(await db.repo.models.get('strip-model')).toBeNull();
    expect(existsSync(modelDir)).toBe(false);
    expect(existsSync(runDir)).toBe(false);
  });

  it('renames a model, keeps one active model per product line, deletes one (admin only)', async () => {
    const make = async (id: string) => {
      const dir = join(paths.modelsDir, id);
      mkdirSync(dir, { recursive: true });
      return db.repo.models.create({ id, productLineId: lineId, name: id, dir, labels: ['a'], inputSize: 64 });
    };
    await make('m1');
    await make('m2');
    await expect(asEngineer.models.rename({ id: 'm1', name: 'x' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await api.models.rename({ id: 'm1', name: ' Strip v1 ' })).toMatchObject({ name: 'Strip v1' });
    await expect(api.models.rename({ id: 'm1', name: '  ' })).rejects.toThrow(/must not be empty/);
    await asEngineer.models.setActive({ id: 'm1' });
    await asEngineer.models.setActive({ id: 'm2' });
    const active = (await api.models.list({ productLineId: lineId })).filter((m) => m.active).map((m) => m.id);
    expect(active).toEqual(['m2']);
    await expect(asEngineer.models.delete({ id: 'm2' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await api.models.delete({ id: 'm2' });
    expect(existsSync(join(paths.modelsDir, 'm2'))).toBe(false);
    await expect(api.models.get({ id: 'm2' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
