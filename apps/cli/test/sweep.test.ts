import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateSampleDataset } from '@defectflow/engine';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, runCli } from './run-cli.ts';
import { trialLine } from '../src/commands/sweep.ts';


let work: string;
let datasetDir: string;
let pipelineFile: string;

const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(work, args, extraEnv);

async function writeJson(name: string, value: unknown): Promise<string> {
  const file = path.join(work, name);
  await writeFile(file, JSON.stringify(value));
  return file;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'defectflow-sweep-'));
  datasetDir = path.join(work, 'steel');
  await generateSampleDataset(datasetDir, { perClass: 10, size: 64, seed: 3 });
  // The shipped example, scaled down so each trial trains in seconds.
  const graph = JSON.parse(await readFile(EXAMPLE, 'utf8'));
  for (const node of graph.nodes) {
    if (node.type === 'backbone') Object.assign(node.params, { inputSize: 64, cutAt: 'block_6_expand_relu' });
    if (node.type === 'train') Object.assign(node.params, { epochs: 4, batchSize: 16 });
    if (node.type === 'augment') Object.assign(node.params, { copies: 1 });
  }
  pipelineFile = await writeJson('pipeline.json', graph);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('defectflow sweep', () => {
  it('runs a random sweep: the current settings first, one line per trial, later trials on cached features, the best params written to --out', async () => {
    const sweepFile = await writeJson('sweep.json', {
      strategy: 'random',
      budget: { trials: 3 },
      seed: 4,
      dimensions: [
        { nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 3e-2 },
        { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.5 },
      ],
    });
    const out = path.join(work, 'best.json');
    const result = await cli(['sweep', pipelineFile, sweepFile, '--dataset', datasetDir, '--out', out, '--json']);
    expect(result.code, result.stderr).toBe(0);

    const lines = result.stderr.split('\n').filter((l) => /^trial \d+/.test(l));
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line).toMatch(/^trial \d( \(current settings\))?: train\.learningRate=[\d.e-]+ head\.dropout=[\d.]+: validation macro F1 [\d.]+ %.*, [\d.]+ s$/);
    // Trial 1 is the pipeline as the file has it (learning rate 0.001, dropout 0.2), marked; the others are draws.
    expect(lines[0]).toMatch(/^trial 1 \(current settings\): train\.learningRate=0\.001 head\.dropout=0\.2: /);
    expect(lines.slice(1).some((l) => l.includes('current settings'))).toBe(false);
    // Trials only change head and training params: the first extracts the features, the others read them.
    expect(lines[0]).not.toContain('cached features');
    expect(lines[1]).toContain('cached features');
    expect(lines[2]).toContain('cached features');
    // The best params then run once on the test split, which the trials never scored.
    expect(result.stderr).toMatch(/result: accuracy [\d.]+ %/);

    const report = JSON.parse(result.stdout);
    expect(report.trials).toHaveLength(3);
    expect(report.trials.map((t: { reusedFeatures: boolean }) => t.reusedFeatures)).toEqual([false, true, true]);
    expect(report.trials.map((t: { baseline: boolean }) => t.baseline)).toEqual([true, false, false]);
    expect(report.trials.every((t: { epochs: number }) => t.epochs >= 1 && t.epochs <= 4)).toBe(true);
    const scores = report.trials.map((t: { score: number }) => t.score);
    expect(report.best.score).toBe(Math.max(...scores));
    expect(report.final.status).toBe('succeeded');
    expect(report.final.metrics.classes).toHaveLength(6);

    const written = JSON.parse(await readFile(out, 'utf8'));
    const node = (id: string) => written.nodes.find((n: { id: string }) => n.id === id);
    expect(node('train').params.learningRate).toBe(report.best.params['train.learningRate']);
    expect(node('head').params.dropout).toBe(report.best.params['head.dropout']);
    // The rest of the pipeline as the file has it: deploy kept, the dataset path not replaced by --dataset.
    expect(node('deploy')).toBeDefined();
    expect(node('evaluate').params.split).not.toBe('val');
    expect(node('dataset').params.path).toBe('sample-steel');
    expect(node('train').params.epochs).toBe(4);
  });

  it('refuses a bad sweep.json with exit code 2, naming the field, before running anything', async () => {
    const badRange = await writeJson('bad-range.json', {
      dimensions: [{ nodeId: 'train', param: 'learningRate', kind: 'log', min: 0, max: 0.1 }],
    });
    const result = await cli(['sweep', pipelineFile, badRange]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Sweep field "dimensions.0.min"');
    expect(result.stderr).not.toMatch(/^trial /m);

    const badParam = await writeJson('bad-param.json', {
      dimensions: [
        { nodeId: 'head', param: 'dropuot', kind: 'range', min: 0, max: 0.5 },
        { nodeId: 'dataset', param: 'valRatio', kind: 'list', values: [0.1, 0.2] },
      ],
    });
    const named = await cli(['sweep', pipelineFile, badParam]);
    expect(named.code).toBe(2);
    const problems = named.stderr.trim().split('\n');
    expect(problems).toEqual([
      expect.stringContaining('Dimension 1 (head.dropuot): a head node has no param "dropuot"'),
      expect.stringContaining('Dimension 2 (dataset.valRatio): dataset node params cannot be swept'),
    ]);

    const notJson = path.join(work, 'not-json.json');
    await writeFile(notJson, '{"dimensions": [');
    const broken = await cli(['sweep', pipelineFile, notJson]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('not-json.json: not valid JSON');
  });
});

describe('trialLine', () => {
  it('names the rung and the current settings of a promoted baseline trial, and a failure', () => {
    const params = { 'train.learningRate': 0.001, 'head.dropout': 0.2, 'train.epochs': 9 };
    const promoted = { index: 19, rung: 2, params, upstreamKey: '', baseline: true, outcome: { status: 'succeeded' as const, score: 0.9851, reusedFeatures: true, epochs: 9, durationMs: 6200 } };
    expect(trialLine(promoted, 'macroF1')).toBe(
      'trial 20 (rung 2, current settings): train.learningRate=0.001 head.dropout=0.2 train.epochs=9: validation macro F1 98.5 %, cached features, 6.2 s',
    );
    const failed = { ...promoted, index: 3, rung: 0, baseline: undefined, outcome: { status: 'failed' as const, score: null, reusedFeatures: false, durationMs: 1500, error: 'out of memory' } };
    expect(trialLine(failed, 'macroF1')).toBe('trial 4: train.learningRate=0.001 head.dropout=0.2 train.epochs=9: FAILED (out of memory), 1.5 s');
  });
});
