import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSampleDataset, loadDataset, writeDatasetVersion } from '@defectflow/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NodeRunContext } from '../types.ts';
import { runDataset } from './dataset.ts';

let tmp: string;
let ctx: NodeRunContext;

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-dsv-'));
  const dirs = {
    dataDir: tmp,
    datasetsRoot: path.join(tmp, 'datasets'),
    runDir: path.join(tmp, 'runs', 'r1'),
    modelsDir: path.join(tmp, 'models'),
    cacheDir: path.join(tmp, 'cache'),
  };
  ctx = { runId: 'r', nodeId: 'd', signal: new AbortController().signal, progress: () => {}, log: () => {}, emit: () => {}, dirs, cacheKey: 'k' };
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
    const result = await runDataset({}, { path: 'steel', version: 0 }, ctx);
    const summary = result.summary as Summary;
    expect(summary.version).toBe(2);
    expect(summary.counts).toMatchObject({ crazing: 3, patches: 3, scratches: 5 });
    expect(summary.signature).toMatch(/^[0-9a-f]{40}$/);
  });

  it('reproduces an earlier version on request', async () => {
    const summary = (await runDataset({}, { path: 'steel', version: 1 }, ctx)).summary as Summary;
    expect(summary.version).toBe(1);
    expect(summary.counts).toMatchObject({ crazing: 4, patches: 4, scratches: 4 });
  });

  it('fails with a clear message for a version that does not exist', async () => {
    await expect(runDataset({}, { path: 'steel', version: 7 }, ctx)).rejects.toThrow(/version 7 does not exist/);
  });
});
