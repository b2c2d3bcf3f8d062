import type { DbHandle } from '@defectflow/db';
import { createDefaultPipeline, type PipelineGraph } from '@defectflow/nodes';
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeRunnerControl, makeCaller, memoryDb } from './helpers.ts';

let db: DbHandle;
let runner: FakeRunnerControl;
let caller: ReturnType<typeof makeCaller>;
let lineId: string;

beforeAll(async () => {
  db = await memoryDb();
  runner = new FakeRunnerControl();
  caller = makeCaller(db, runner);
  lineId = (await caller.productLines.create({ name: 'Line A' })).id;
});
afterAll(async () => {
  await db.close();
});

function withParam(graph: PipelineGraph, nodeId: string, field: string, value: unknown): PipelineGraph {
  return {
    ...graph,
    nodes: graph.nodes.map((n) => (n.id === nodeId ? { ...n, params: { ...n.params, [field]: value } } : n)),
  };
}

async function trpcCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof TRPCError) return `${err.code}: ${err.message}`;
    throw err;
  }
  throw new Error('expected a TRPCError');
}

describe('productLines', () => {
  it('creates, renames and refuses a duplicate name with CONFLICT', async () => {
    const b = await caller.productLines.create({ name: 'Line B', description: 'second' });
    expect((await caller.productLines.rename({ id: b.id, name: 'Line B2' })).name).toBe('Line B2');
    expect((await caller.productLines.get({ id: b.id })).description).toBe('second');
    expect(await trpcCode(caller.productLines.create({ name: 'Line A' }))).toMatch(/^CONFLICT: .*Line A/);
    expect(await trpcCode(caller.productLines.get({ id: 'nope' }))).toMatch(/^NOT_FOUND/);
  });
});

describe('templates', () => {
  it('saves versions, lists them, diffs and restores', async () => {
    const graph = createDefaultPipeline();
    const v1 = await caller.templates.save({ productLineId: lineId, name: 'T', graph, message: 'first' });
    expect(v1.version).toBe(1);
    const changed = withParam(graph, 'train', 'epochs', 3);
    const v2 = await caller.templates.save({ templateId: v1.templateId, productLineId: lineId, name: 'T', graph: changed, message: 'fewer epochs' });
    expect(v2).toMatchObject({ templateId: v1.templateId, version: 2 });

    const versions = await caller.templates.versions({ templateId: v1.templateId });
    expect(versions.map((v) => [v.version, v.message])).toEqual([
      [2, 'fewer epochs'],
      [1, 'first'],
    ]);
    const got = await caller.templates.get({ id: v1.templateId });
    expect(got.latest?.version).toBe(2);
    expect(got.template.name).toBe('T');

    const diff = await caller.templates.diff({ fromVersionId: v1.versionId, toVersionId: v2.versionId });
    const oldEpochs = graph.nodes.find((n) => n.id === 'train')!.params.epochs;
    expect(diff.paramsChanged).toEqual([{ nodeId: 'train', field: 'epochs', from: oldEpochs, to: 3 }]);
    expect(diff.nodesAdded).toEqual([]);
    expect(diff.edgesRemoved).toEqual([]);

    const restored = await caller.templates.restore({ templateId: v1.templateId, versionId: v1.versionId });
    expect(restored.version).toBe(3);
    const v3 = await caller.templates.version({ versionId: restored.versionId });
    expect(v3.graph).toEqual(graph);
    expect(v3.message).toMatch(/Restored version 1/);
  });

  it('diff reports added and removed nodes and edges', async () => {
    const graph = createDefaultPipeline();
    const smaller: PipelineGraph = {
      ...graph,
      nodes: graph.nodes.filter((n) => n.id !== 'augment'),
      edges: [
        ...graph.edges.filter((e) => e.source !== 'augment' && e.target !== 'augment'),
        { id: 'direct', source: 'dataset', sourceHandle: 'dataset', target: 'train', targetHandle: 'dataset' },
      ],
    };
    const a = await caller.templates.save({ productLineId: lineId, name: 'D', graph });
    const b = await caller.templates.save({ templateId: a.templateId, productLineId: lineId, name: 'D', graph: smaller });
    const diff = await caller.templates.diff({ fromVersionId: a.versionId, toVersionId: b.versionId });
    expect(diff.nodesRemoved.map((n) => n.id)).toEqual(['augment']);
    expect(diff.edgesAdded.map((e) => `${e.source}->${e.target}`)).toEqual(['dataset->train']);
    expect(diff.edgesRemoved.map((e) => `${e.source}->${e.target}`).sort()).toEqual(['augment->train', 'dataset->augment']);
  });

  it('instantiate copies the template with per-node overrides into a new pipeline', async () => {
    const t = await caller.templates.save({ productLineId: lineId, name: 'Inst', graph: createDefaultPipeline() });
    const { pipelineId } = await caller.templates.instantiate({
      templateId: t.templateId,
      productLineId: lineId,
      name: 'Line A — cold strip',
      overrides: { dataset: { path: 'cold-strip' }, train: { epochs: 2 } },
    });
    const p = await caller.pipelines.get({ id: pipelineId });
    expect(p.templateId).toBe(t.templateId);
    expect(p.templateVersionId).toBe(t.versionId);
    const params = Object.fromEntries(p.graph.nodes.map((n) => [n.id, n.params]));
    expect(params.dataset?.path).toBe('cold-strip');
    expect(params.train?.epochs).toBe(2);
    // untouched params keep the template's values
    expect(params.train?.batchSize).toBe(createDefaultPipeline().nodes.find((n) => n.id === 'train')!.params.batchSize);
  });

  it('instantiate refuses overrides for unknown nodes or invalid values, naming them', async () => {
    const t = await caller.templates.save({ productLineId: lineId, name: 'Inst2', graph: createDefaultPipeline() });
    const base = { templateId: t.templateId, productLineId: lineId, name: 'x' };
    expect(await trpcCode(caller.templates.instantiate({ ...base, overrides: { ghost: { a: 1 } } }))).toMatch(/^BAD_REQUEST: .*ghost/);
    expect(await trpcCode(caller.templates.instantiate({ ...base, overrides: { train: { epochs: -5 } } }))).toMatch(
      /^BAD_REQUEST: .*train/,
    );
  });
});

describe('runs.start', () => {
  it('returns per-node errors for a bad graph and records nothing', async () => {
    const graph = createDefaultPipeline();
    const broken: PipelineGraph = { ...graph, edges: graph.edges.filter((e) => !(e.target === 'train' && e.targetHandle === 'model')) };
    const before = runner.started.length;
    const result = await caller.runs.start({ graph: broken, productLineId: lineId });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContainEqual(expect.objectContaining({ code: 'required_input_missing', nodeId: 'train', port: 'model' }));
    expect(runner.started.length).toBe(before);
    expect(await caller.runs.list({ productLineId: lineId })).toEqual([]);
  });

  it('param errors name the node and field', async () => {
    const result = await caller.runs.start({ graph: withParam(createDefaultPipeline(), 'train', 'epochs', 0) });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toContainEqual(expect.objectContaining({ code: 'param_invalid', nodeId: 'train', field: 'epochs' }));
  });

  it('records the exact graph, queues it on the runner and lists it', async () => {
    runner.next = 'accept';
    const graph = createDefaultPipeline();
    const pipeline = await caller.pipelines.save({ productLineId: lineId, name: 'P', graph });
    const result = await caller.runs.start({ graph, pipelineId: pipeline.id });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(runner.started.at(-1)?.runId).toBe(result.runId);
    const run = await caller.runs.get({ runId: result.runId });
    expect(run).toMatchObject({ status: 'queued', pipelineId: pipeline.id, productLineId: lineId });
    expect(run.graph.nodes.map((n) => n.id)).toEqual(graph.nodes.map((n) => n.id));
    expect((await caller.runs.list({ pipelineId: pipeline.id })).map((r) => r.id)).toEqual([result.runId]);
  });

  it('marks the run failed with the reason when the runner is unreachable or refuses', async () => {
    runner.next = 'unreachable';
    expect(await trpcCode(caller.runs.start({ graph: createDefaultPipeline(), productLineId: lineId }))).toMatch(
      /^SERVICE_UNAVAILABLE: .*ECONNREFUSED/,
    );
    const failedRun = (await caller.runs.list({ productLineId: lineId }))[0]!;
    expect(failedRun.status).toBe('failed');
    expect(failedRun.error).toMatch(/unreachable.*ECONNREFUSED/);

    runner.next = 'refuse';
    const refused = await caller.runs.start({ graph: createDefaultPipeline(), productLineId: lineId });
    expect(refused).toMatchObject({ ok: false, errors: [{ message: 'runner says no' }] });
    runner.next = 'accept';
  });

  it('events returns what came after `since`', async () => {
    const b = await caller.runs.start({ graph: createDefaultPipeline() });
    if (!b.ok) throw new Error('run did not start');
    const now = Date.now();
    await db.repo.runEvents.append([
      { runId: b.runId, seq: 1, ts: now, type: 'train.epoch', nodeId: 'train', epoch: 1, epochs: 2, loss: 0.9, acc: 0.5, valLoss: 1, valAcc: 0.4, lr: 0.01 },
      { runId: b.runId, seq: 2, ts: now, type: 'node.log', level: 'info', message: 'hello' },
    ]);
    expect((await caller.runs.events({ runId: b.runId, since: 1 })).map((e) => e.type)).toEqual(['node.log']);
  });
});

describe('models', () => {
  it('predict decodes base64 uploads (data URLs too) and runs them through the model folder', async () => {
    const model = await db.repo.models.create({ name: 'm', dir: '/models/m', labels: ['ok', 'scratch'], inputSize: 96, productLineId: lineId });
    const seen: Array<{ dir: string; names: string[]; bytes: number[] }> = [];
    const withPredict = makeCaller(db, runner, {
      paths: { dataDir: '/', datasetsRoot: '/datasets', modelsDir: '/models' },
      predict: async (dir, images) => {
        seen.push({ dir, names: images.map((i) => i.name), bytes: images.map((i) => i.data.length) });
        return images.map((i) => ({ name: i.name, label: 'scratch', confidence: 0.7, scores: { ok: 0.3, scratch: 0.7 } }));
      },
    });
    const out = await withPredict.models.predict({
      modelId: model.id,
      images: [
        { name: 'a.png', dataBase64: Buffer.from('abc').toString('base64') },
        { name: 'b.png', dataBase64: `data:image/png;base64,${Buffer.from('abcd').toString('base64')}` },
      ],
    });
    expect(seen).toEqual([{ dir: '/models/m', names: ['a.png', 'b.png'], bytes: [3, 4] }]);
    expect(out).toMatchObject({ modelId: model.id, labels: ['ok', 'scratch'], predictions: [{ name: 'a.png', label: 'scratch' }, { name: 'b.png' }] });
    expect((await caller.models.list({ productLineId: lineId })).map((m) => m.id)).toContain(model.id);
    expect(await trpcCode(caller.models.predict({ modelId: 'nope', images: [{ name: 'x', dataBase64: 'YQ==' }] }))).toMatch(/^NOT_FOUND/);
  });

  it('predict refuses a model whose folder is outside the models dir, before loading it', async () => {
    const seen: string[] = [];
    const withPredict = makeCaller(db, runner, {
      paths: { dataDir: '/', datasetsRoot: '/datasets', modelsDir: '/models' },
      predict: async (dir) => {
        seen.push(dir);
        return [];
      },
    });
    for (const dir of ['/etc', '/models/x/../../etc', '/models']) {
      const model = await db.repo.models.create({ name: 'stray', dir, labels: ['ok'], inputSize: 96 });
      const images = [{ name: 'a.png', dataBase64: 'YQ==' }];
      expect(await trpcCode(withPredict.models.predict({ modelId: model.id, images }))).toMatch(new RegExp(`^BAD_REQUEST: .*${model.id}`));
    }
    expect(seen).toEqual([]);
  });
});

describe('nodes and runner', () => {
  it('serves the registry and the runner status', async () => {
    const registry = await caller.nodes.registry();
    expect(registry.map((d: { type: string }) => d.type)).toEqual(['dataset', 'augment', 'backbone', 'freeze', 'head', 'train', 'evaluate', 'deploy']);
    expect(await caller.runner.status()).toMatchObject({ connected: true, backend: 'cpu' });
  });
});
