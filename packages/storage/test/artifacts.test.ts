import { mkdtempSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureModelLocal, FsStore, uploadRunArtifacts } from '../src/index.ts';
import { startTestS3Server, type TestS3Server } from '../src/testing.ts';
import { counting } from './counting-store.ts';

const tmp = (what: string) => mkdtempSync(join(tmpdir(), `df-art-${what}-`));

/** A runner's DATA_DIR after a run with an evaluate node (e1) and a deploy node (d1). */
async function runnerDataDir(): Promise<string> {
  const dataDir = tmp('runner');
  await mkdir(join(dataDir, 'runs', 'run-1'), { recursive: true });
  await writeFile(join(dataDir, 'runs', 'run-1', 'metrics-e1.json'), JSON.stringify({ accuracy: 0.93, perImage: [1, 2, 3] }));
  const model = join(dataDir, 'models', 'steel-run-1-d1');
  await mkdir(join(model, 'assets'), { recursive: true });
  await writeFile(join(model, 'model.json'), '{"format":"layers-model"}');
  await writeFile(join(model, 'weights.bin'), Buffer.alloc(4096, 7));
  await writeFile(join(model, 'defectflow.json'), '{"labels":["good","scratch"]}');
  await writeFile(join(model, 'assets', 'labels.txt'), 'good\nscratch\n');
  return dataDir;
}

const deploySummary = (dataDir: string) => ({ modelId: 'steel-run-1-d1', dir: join(dataDir, 'models', 'steel-run-1-d1'), name: 'steel' });

let s3: TestS3Server;
beforeAll(async () => {
  s3 = await startTestS3Server();
});
afterAll(() => s3?.close());

describe('uploadRunArtifacts / ensureModelLocal over S3 (s3rver)', () => {
  it('evaluate uploads runs/<run>/metrics-<node>.json; deploy uploads the model folder under models/<id>/; others nothing', async () => {
    const dataDir = await runnerDataDir();
    const store = s3.store('up1');
    const ev = await uploadRunArtifacts(store, { dataDir, runId: 'run-1', nodeType: 'evaluate', nodeId: 'e1', summary: {} });
    expect(ev.keys).toEqual(['runs/run-1/metrics-e1.json']);
    expect(JSON.parse((await store.get('runs/run-1/metrics-e1.json'))!.toString())).toEqual({ accuracy: 0.93, perImage: [1, 2, 3] });
    const dep = await uploadRunArtifacts(store, { dataDir, runId: 'run-1', nodeType: 'deploy', nodeId: 'd1', summary: deploySummary(dataDir) });
    expect(dep.bytes).toBeGreaterThan(4096);
    expect((await store.list('models/steel-run-1-d1/')).map((o) => o.key)).toEqual([
      'models/steel-run-1-d1/assets/labels.txt',
      'models/steel-run-1-d1/defectflow.json',
      'models/steel-run-1-d1/model.json',
      'models/steel-run-1-d1/weights.bin',
    ]);
    expect((await uploadRunArtifacts(store, { dataDir, runId: 'run-1', nodeType: 'train', nodeId: 't1', summary: {} })).keys).toEqual([]);
  });

  it('a deploy summary naming a folder outside DATA_DIR/models is refused, naming it', async () => {
    const dataDir = await runnerDataDir();
    const store = s3.store('up2');
    for (const dir of ['/etc', join(dataDir, 'models'), join(dataDir, 'models', '..', 'runs'), join(dataDir, 'models', 'a', 'b')]) {
      await expect(
        uploadRunArtifacts(store, { dataDir, runId: 'run-1', nodeType: 'deploy', nodeId: 'd1', summary: { modelId: 'x', dir } }),
      ).rejects.toThrow(/is not a folder directly inside|does not match model id/);
    }
    expect(await store.list('')).toEqual([]);
  });

  it('ensureModelLocal downloads a model folder to another machine once', async () => {
    const dataDir = await runnerDataDir();
    const store = counting(s3.store('up3'));
    await uploadRunArtifacts(store, { dataDir, runId: 'run-1', nodeType: 'deploy', nodeId: 'd1', summary: deploySummary(dataDir) });
    const other = tmp('other');
    const first = await ensureModelLocal(store, 'steel-run-1-d1', join(other, 'models'));
    expect(first).toMatchObject({ files: 4, fetched: 4 });
    expect(await readFile(join(other, 'models', 'steel-run-1-d1', 'weights.bin'))).toEqual(Buffer.alloc(4096, 7));
    expect(await readFile(join(other, 'models', 'steel-run-1-d1', 'assets', 'labels.txt'), 'utf8')).toBe('good\nscratch\n');
    const gets = store.gets.length;
    expect(await ensureModelLocal(store, 'steel-run-1-d1', join(other, 'models'))).toMatchObject({ fetched: 0 });
    expect(store.gets.length).toBe(gets);
    await expect(ensureModelLocal(store, 'nope', join(other, 'models'))).rejects.toThrow(/model nope is not in s3/);
    await expect(ensureModelLocal(store, '../x', join(other, 'models'))).rejects.toThrow(/invalid storage key/);
  });
});

describe('with the default FsStore rooted at DATA_DIR both are no-ops', () => {
  it('no copy, no change: the files are the keys', async () => {
    const dataDir = await runnerDataDir();
    const store = counting(new FsStore(dataDir));
    const weights = join(dataDir, 'models', 'steel-run-1-d1', 'weights.bin');
    const before = await stat(weights);
    await uploadRunArtifacts(store, { dataDir, runId: 'run-1', nodeType: 'evaluate', nodeId: 'e1', summary: {} });
    await uploadRunArtifacts(store, { dataDir, runId: 'run-1', nodeType: 'deploy', nodeId: 'd1', summary: deploySummary(dataDir) });
    expect((await stat(weights)).ino).toBe(before.ino);
    expect(await ensureModelLocal(store, 'steel-run-1-d1', join(dataDir, 'models'))).toMatchObject({ files: 4, fetched: 0 });
    expect(store.gets).toEqual([]);
  });
});
