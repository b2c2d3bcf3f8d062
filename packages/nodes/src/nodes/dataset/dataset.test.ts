import { DATASET_DEFAULTS } from '@defectflow/engine/constants';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { generateSampleDataset, loadDataset, writeDatasetVersion } from '@defectflow/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { datasetNode, datasetParams } from './definition.ts';
import { quietContext, tempRunDirs } from '../../../test/helpers/temp-run-dirs.ts';
import type { NodeRunContext } from '../../runtime/types.ts';
import { runDataset } from './run.ts';

describe('dataset definition', () => {
  it("parses {} to the loader's defaults (one list, in @defectflow/engine/constants), the sample and the latest version", () => {
    expect(datasetNode.params.parse({})).toEqual({ ...DATASET_DEFAULTS, path: 'sample-steel', version: 0 });
    expect(datasetNode.params.parse({})).toMatchObject({ valRatio: 0.15, testRatio: 0.15, seed: 42 });
  });

  it('keeps paths inside the datasets folder and leaves images for training', () => {
    expect(datasetNode.params.safeParse({ path: 'line-3/plates' }).success).toBe(true);
    expect(datasetNode.params.safeParse({ path: '../x' }).success).toBe(false);
    expect(datasetNode.params.safeParse({ path: '/abs' }).success).toBe(false);
    expect(datasetNode.params.safeParse({ valRatio: 0.5, testRatio: 0.5 }).success).toBe(false);
    expect(datasetNode.params.safeParse({ valRatio: 0.6 }).success).toBe(false);
  });

  it('is a source node with one Dataset output', () => {
    expect(datasetNode.inputs).toEqual([]);
    expect(datasetNode.outputs.map((p) => [p.name, p.type])).toEqual([['dataset', 'Dataset']]);
  });
});

describe('dataset run', () => {
  /** The dataset node's params the way the executor hands them over: defaults filled in. */
  const params = (p: { version: number }) => datasetParams.parse({ path: 'steel', ...p });

  let tmp: string;
  let ctx: NodeRunContext;

  beforeAll(async () => {
    const dirs = await tempRunDirs('df-dsv-');
    tmp = dirs.dataDir;
    ctx = quietContext(dirs, 'd');
    const dir = path.join(dirs.datasetsRoot, 'steel');
    await generateSampleDataset(dir, { perClass: 4, size: 32, seed: 3 });
    // Version 2: the first crazing image relabelled as scratches, one patches image deleted.
    const v1 = await loadDataset({ root: dirs.datasetsRoot, path: 'steel', checkDuplicates: false });
    const entries = v1.items.map((i) => ({ id: i.id, label: v1.classes[i.label] as string }));
    const moved = entries.find((e) => e.label === 'crazing')!;
    const deleted = entries.find((e) => e.label === 'patches')!;
    moved.label = 'scratches';
    await writeDatasetVersion(dir, 2, entries.filter((e) => e !== deleted));
  });

  afterAll(() => fs.rm(tmp, { recursive: true, force: true }));

  type Summary = { version: number; counts: Record<string, number>; signature: string };

  describe('dataset node versions', () => {
    it('trains on the latest version by default and says which one', async () => {
      const result = await runDataset({}, params({ version: 0 }), ctx);
      const summary = result.summary as Summary;
      expect(summary.version).toBe(2);
      expect(summary.counts).toMatchObject({ crazing: 3, patches: 3, scratches: 5 });
      expect(summary.signature).toMatch(/^[0-9a-f]{40}$/);
    });

    it('reproduces an earlier version on request', async () => {
      const summary = (await runDataset({}, params({ version: 1 }), ctx)).summary as Summary;
      expect(summary.version).toBe(1);
      expect(summary.counts).toMatchObject({ crazing: 4, patches: 4, scratches: 4 });
    });

    it('fails with a clear message for a version that does not exist', async () => {
      await expect(runDataset({}, params({ version: 7 }), ctx)).rejects.toThrow(/version 7 does not exist/);
    });
  });
});
