import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PathOutsideRootError } from '@defectflow/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quietContext } from './helpers/temp-run-dirs.ts';
import { deployParams } from '../src/nodes/deploy/definition.ts';
import { evaluateParams } from '../src/nodes/evaluate/definition.ts';
import type { NodeRunContext } from '../src/runtime/types.ts';
import { runDeploy } from '../src/nodes/deploy/run.ts';
import { runEvaluate } from '../src/nodes/evaluate/run.ts';

/**
 * Defence in depth: the graph schema refuses path-like node ids, but a run function called with one
 * anyway (a graph that never went through validateGraph) must still not write outside its folder.
 */
let tmp: string;
let dirs: NodeRunContext['dirs'];

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-confine-'));
  dirs = {
    dataDir: path.join(tmp, 'data'),
    datasetsRoot: path.join(tmp, 'data', 'datasets'),
    runDir: path.join(tmp, 'data', 'runs', 'r1'),
    modelsDir: path.join(tmp, 'data', 'models'),
    cacheDir: path.join(tmp, 'data', 'cache'),
  };
  for (const dir of Object.values(dirs)) await fs.mkdir(dir, { recursive: true });
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

const ctx = (nodeId: string) => quietContext(dirs, nodeId, 'run-abcdef12');

/** Everything under tmp except the data dir's own folders: must stay empty. */
async function strayEntries(): Promise<string[]> {
  const entries = await fs.readdir(tmp, { recursive: true });
  return entries.filter((e) => !e.startsWith('data'));
}

describe('run functions keep their files inside their folders', () => {
  it('deploy refuses a node id that climbs out of the models folder', async () => {
    // Shaped like a trained model so the port check passes; the path check comes before any export.
    const trained = { head: {}, history: [] };
    const climb = `x/../../../../${path.basename(tmp)}/evil`;
    await expect(runDeploy({ trained }, deployParams.parse({ name: 'm' }), ctx(climb))).rejects.toMatchObject({
      code: 'path_outside_root',
      message: expect.stringContaining(climb),
    });
    expect(await strayEntries()).toEqual([]);
    expect(await fs.readdir(dirs.modelsDir)).toEqual([]);
  });

  it('evaluate refuses a node id that would write its metrics outside the run folder, before any work', async () => {
    await expect(runEvaluate({}, evaluateParams.parse({}), ctx('x/../../../../evil'))).rejects.toBeInstanceOf(PathOutsideRootError);
    // Another run's folder is outside this run's folder too.
    await expect(runEvaluate({}, evaluateParams.parse({}), ctx('x/../../r2/report'))).rejects.toBeInstanceOf(PathOutsideRootError);
    expect(await strayEntries()).toEqual([]);
    expect(await fs.readdir(path.dirname(dirs.runDir))).toEqual(['r1']);
  });
});
