import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadDataset, resolveDatasetVersion, writeDatasetVersion } from '@defectflow/engine/data';
import type { PipelineGraph } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetFiles, writeDataset } from './datasets-fixture.ts';
import { FakeRunnerControl, makeCaller, memoryDb, tempDir } from './helpers.ts';

const db = await memoryDb();
afterAll(() => db.close());

describe('dataset versions', () => {
  const root = tempDir('df-ds-');
  const runner = new FakeRunnerControl();
  const api = makeCaller(db, runner, { paths: { dataDir: tempDir(), datasetsRoot: root, modelsDir: tempDir() } });
  let dir = '';
  beforeAll(async () => {
    dir = writeDataset(root, 'plates', await datasetFiles(5));
  });

  it('inspects version 1 with counts and the duplicate across classes, naming its files', async () => {
    const v1 = await api.datasets.inspect({ name: 'plates' });
    expect(v1).toMatchObject({ version: 1, latestVersion: 1, classes: ['good', 'scratch'], counts: { good: 6, scratch: 6 } });
    const dup = v1.warnings.find((w) => w.code === 'duplicates_across_classes');
    expect(dup?.files).toEqual(expect.arrayContaining(['good/dup.png', 'scratch/dup.png']));
    expect(await api.datasets.versions({ name: 'plates' })).toMatchObject([{ version: 1, counts: { good: 6, scratch: 6 } }]);
  });

  // Issue 20 item 10: a name with no folder answered 500 (reading the missing folder).
  it('versions of a dataset that does not exist: NOT_FOUND naming it', async () => {
    await expect(api.datasets.versions({ name: 'no-such-set' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'Dataset no-such-set does not exist under the datasets folder',
    });
  });

  it('relabel creates version 2 with the label changed and leaves version 1 as it was', async () => {
    const result = await api.datasets.relabel({ name: 'plates', ids: ['good/dup.png'], to: 'scratch' });
    expect(result).toEqual({ version: 2, counts: { good: 5, scratch: 7 } });
    const v1csv = readFileSync(join(dir, '.versions/v1.csv'), 'utf8');
    expect(v1csv).toContain('../good/dup.png,good');
    expect(readFileSync(join(dir, '.versions/v2.csv'), 'utf8')).toContain('../good/dup.png,scratch');

    const v2 = await api.datasets.inspect({ name: 'plates' });
    expect(v2).toMatchObject({ version: 2, latestVersion: 2, counts: { good: 5, scratch: 7 } });
    expect(v2.items.find((i) => i.id === 'good/dup.png')?.className).toBe('scratch');
    expect(v2.warnings.some((w) => w.code === 'duplicates_across_classes')).toBe(false);
    const again = await api.datasets.inspect({ name: 'plates', version: 1 });
    expect(again.counts).toEqual({ good: 6, scratch: 6 });

    // The loader reads a version CSV with the same item ids as the original layout.
    const loaded = await loadDataset({ root, path: 'plates', layout: 'csv', csvFile: '.versions/v2.csv' });
    const item = loaded.items.find((i) => i.id === 'good/dup.png');
    expect(loaded.classes[item?.label ?? -1]).toBe('scratch');
  });

  it('delete excludes the file from the next version without touching files or earlier versions', async () => {
    const v2csv = readFileSync(join(dir, '.versions/v2.csv'), 'utf8');
    expect(await api.datasets.remove({ name: 'plates', ids: ['scratch/img0.png'] })).toEqual({
      version: 3,
      counts: { good: 5, scratch: 6 },
    });
    expect(readFileSync(join(dir, '.versions/v2.csv'), 'utf8')).toBe(v2csv);
    expect(readFileSync(join(dir, '.versions/v3.csv'), 'utf8')).not.toContain('scratch/img0.png');
    expect(readFileSync(join(dir, 'scratch/img0.png')).length).toBeGreaterThan(0);
    const v3 = await api.datasets.inspect({ name: 'plates' });
    expect(v3.items.some((i) => i.id === 'scratch/img0.png')).toBe(false);
    expect((await api.datasets.versions({ name: 'plates' })).map((v) => v.version)).toEqual([3, 2, 1]);
  });

  it('moves images to a new class and refuses unknown ids and bad class names', async () => {
    expect(await api.datasets.relabel({ name: 'plates', ids: ['good/img0.png', 'good/img1.png'], to: 'dent' })).toMatchObject({
      version: 4,
      counts: { dent: 2, good: 3, scratch: 6 },
    });
    await expect(api.datasets.relabel({ name: 'plates', ids: ['nope.png'], to: 'good' })).rejects.toThrow(/nope\.png/);
    await expect(api.datasets.relabel({ name: 'plates', ids: ['good/img2.png'], to: '../x' })).rejects.toThrow(/not valid/);
    await expect(api.datasets.remove({ name: 'plates', ids: ['scratch/img0.png'] })).rejects.toThrow(/scratch\/img0\.png/);
  });

  it('resolves 0 to the latest version and refuses versions that do not exist', async () => {
    expect(await resolveDatasetVersion(dir, 0)).toEqual({ version: 4, csvFile: '.versions/v4.csv' });
    expect(await resolveDatasetVersion(dir, 1)).toEqual({ version: 1, csvFile: null });
    await expect(resolveDatasetVersion(dir, 9)).rejects.toThrow(/version 9 does not exist/);
    // A version file is never replaced.
    await expect(writeDatasetVersion(dir, 2, [])).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('a started run pins its dataset node to the latest version', async () => {
    const example = JSON.parse(readFileSync(join(import.meta.dirname, '../../../examples/default-pipeline.json'), 'utf8')) as PipelineGraph;
    const datasetNode = example.nodes.find((n) => n.type === 'dataset')!;
    const withDataset = (params: Record<string, unknown>): PipelineGraph => ({
      ...example,
      nodes: example.nodes.map((n) => (n === datasetNode ? { ...n, params } : n)),
    });
    const graph = withDataset({ path: 'plates' });
    const versionOf = (g: PipelineGraph | undefined) => g?.nodes.find((n) => n.type === 'dataset')?.params.version;
    const started = await api.runs.start({ graph });
    expect(started).toMatchObject({ ok: true });
    expect(versionOf(runner.started.at(-1)?.graph)).toBe(4);
    await api.runs.start({ graph: withDataset({ path: 'plates', version: 2 }) });
    expect(versionOf(runner.started.at(-1)?.graph)).toBe(2);
  });
});
