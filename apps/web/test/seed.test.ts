import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DbHandle } from '@defectflow/db';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../server/log.ts';
import {
  SAMPLE_DATASET,
  SAMPLE_PRODUCT_LINE,
  TILES_DATASET,
  TILES_PIPELINE,
  TILES_PRODUCT_LINE,
  TILES_TEMPLATE,
  ensureSampleDataset,
  ensureSampleDatasets,
  seedDatabase,
} from '../server/seed.ts';
import { memoryDb, tempDir } from './helpers.ts';

const REPO_ROOT = join(import.meta.dirname, '../../..');

// The engine's generator, replaced: these tests check what the seed asks for, not 1,300 rendered images.
const generate = vi.hoisted(() => vi.fn());
vi.mock('@defectflow/engine/data', () => ({ generateSampleDataset: generate }));

let db: DbHandle;
beforeEach(async () => {
  db = await memoryDb();
  generate.mockReset();
});
afterEach(async () => {
  await db.close();
});

const datasetPaths = (graph: { nodes: { type: string; params: Record<string, unknown> }[] }) =>
  graph.nodes.filter((n) => n.type === 'dataset').map((n) => n.params.path);

describe('first-start seed', () => {
  it('creates the steel and the small-defects product lines, each with its default template and a pipeline from it', async () => {
    const result = await seedDatabase(db.repo, REPO_ROOT, silentLogger);
    const lines = await db.repo.productLines.list();
    expect(lines.map((l) => l.name).sort()).toEqual([SAMPLE_PRODUCT_LINE, TILES_PRODUCT_LINE].sort());

    const tiles = result.lines[TILES_PRODUCT_LINE];
    expect(tiles?.productLineId).toBe(lines.find((l) => l.name === TILES_PRODUCT_LINE)?.id);
    const [template, ...moreTemplates] = await db.repo.templates.list(tiles?.productLineId);
    expect(moreTemplates).toEqual([]);
    expect(template?.name).toBe(TILES_TEMPLATE);
    const graph = template?.latestVersion?.graph;
    if (!graph) throw new Error('tiles template has no version');
    expect(datasetPaths(graph)).toEqual([TILES_DATASET]);

    const pipelines = await db.repo.pipelines.list(tiles?.productLineId);
    expect(pipelines).toHaveLength(1);
    expect(pipelines[0]).toMatchObject({ id: tiles?.pipelineId, name: TILES_PIPELINE, templateId: template?.id });
    expect(datasetPaths(pipelines[0]?.graph as typeof graph)).toEqual([TILES_DATASET]);

    // The steel line is unchanged: the result's top-level ids are its own, its graph reads sample-steel.
    const steel = lines.find((l) => l.name === SAMPLE_PRODUCT_LINE);
    expect(result.productLineId).toBe(steel?.id);
    const steelTemplates = await db.repo.templates.list(steel?.id);
    expect(steelTemplates).toHaveLength(1);
    const steelGraph = steelTemplates[0]?.latestVersion?.graph as typeof graph;
    expect(datasetPaths(steelGraph)).toEqual([SAMPLE_DATASET]);
    // Apart from the dataset both are the default pipeline, node for node.
    expect(graph.nodes.map((n) => (n.type === 'dataset' ? { ...n, params: { ...n.params, path: SAMPLE_DATASET } } : n))).toEqual(steelGraph.nodes);
    expect(graph.edges).toEqual(steelGraph.edges);
  });

  it('is idempotent: a second start adds nothing', async () => {
    const first = await seedDatabase(db.repo, REPO_ROOT, silentLogger);
    const second = await seedDatabase(db.repo, REPO_ROOT, silentLogger);
    expect(second).toEqual(first);
    expect(await db.repo.productLines.list()).toHaveLength(2);
    expect(await db.repo.templates.list()).toHaveLength(2);
    expect(await db.repo.pipelines.list()).toHaveLength(2);
  });

  it('generates sample-tiles with the small-defects generator and registers it; an existing folder is only registered', async () => {
    const root = tempDir('df-seed-');
    mkdirSync(join(root, SAMPLE_DATASET));
    generate.mockResolvedValue({ files: 1344 });
    const results = await ensureSampleDatasets(db.repo, root, silentLogger);
    expect(results).toEqual({ [SAMPLE_DATASET]: 'exists', [TILES_DATASET]: 'generated' });
    expect(generate).toHaveBeenCalledTimes(1);
    expect(generate.mock.calls[0]?.[0]).toBe(join(root, TILES_DATASET));
    expect(generate.mock.calls[0]?.[1]).toMatchObject({ kind: 'small-defects' });
    const names = (await db.repo.datasets.list()).map((d) => d.name).sort();
    expect(names).toEqual([SAMPLE_DATASET, TILES_DATASET].sort());
  });

  it('never throws when generation fails: the dataset is skipped and not registered', async () => {
    generate.mockRejectedValue(new Error('disk full'));
    const errors: string[] = [];
    const log = { ...silentLogger, error: (m: string) => errors.push(m) };
    const result = await ensureSampleDataset(db.repo, tempDir('df-seed-'), log, undefined, { dataset: TILES_DATASET, kind: 'small-defects' });
    expect(result).toBe('skipped');
    expect(errors.join('\n')).toMatch(/sample-tiles: generation failed: disk full/);
    expect(await db.repo.datasets.list()).toEqual([]);
  });
});
