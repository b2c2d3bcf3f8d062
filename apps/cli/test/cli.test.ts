import { mkdtemp, readFile, rm, writeFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE, runCli } from './run-cli.ts';


let work: string;
let datasetDir: string;

const cli = (args: string[], extraEnv: Record<string, string> = {}) => runCli(work, args, extraEnv);

/** The shipped example, scaled down so the test trains in seconds: small input, early cut, few epochs. */
async function smallPipeline(): Promise<string> {
  const graph = JSON.parse(await readFile(EXAMPLE, 'utf8'));
  for (const node of graph.nodes) {
    if (node.type === 'backbone') Object.assign(node.params, { inputSize: 64, cutAt: 'block_6_expand_relu' });
    if (node.type === 'train') Object.assign(node.params, { epochs: 15, batchSize: 16 });
    if (node.type === 'augment') Object.assign(node.params, { copies: 1 });
  }
  const file = path.join(work, 'small.json');
  await writeFile(file, JSON.stringify(graph));
  return file;
}

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'defectflow-cli-'));
  datasetDir = path.join(work, 'steel');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('defectflow CLI', () => {
  it('writes the synthetic sample set', async () => {
    const result = await cli(['sample-data', datasetDir, '--per-class', '16', '--size', '64']);
    expect(result.stderr).toContain('sample-data:');
    expect(result.code).toBe(0);
    const classes = (await readdir(datasetDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(classes.sort()).toEqual(['crazing', 'inclusion', 'patches', 'pitted_surface', 'rolled-in_scale', 'scratches']);
    expect(await readdir(path.join(datasetDir, 'scratches'))).toHaveLength(16);
  });

  it('writes the small-defects sample with --kind small-defects --scale, and refuses steel-only flags for it', async () => {
    const dir = path.join(work, 'tiles');
    const result = await cli(['sample-data', dir, '--kind', 'small-defects', '--scale', '0.02']);
    expect(result.code, result.stderr).toBe(0);
    const classes = (await readdir(dir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(classes.sort()).toEqual(['blowhole', 'break', 'crack', 'fray', 'good', 'uneven']);
    expect(await readdir(path.join(dir, 'good'))).toHaveLength(19); // 952 × 0.02
    const wrong = await cli(['sample-data', path.join(work, 'x'), '--kind', 'small-defects', '--per-class', '3']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/use --scale for small-defects/);
    const unknown = await cli(['sample-data', path.join(work, 'x'), '--kind', 'wood']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/--kind must be one of steel, small-defects, got "wood"/);
  });

  it('runs a pipeline headless, reports metrics as JSON and exports a model that answers predictions', async () => {
    const pipeline = await smallPipeline();
    const result = await cli(['run', pipeline, '--dataset', datasetDir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/backend: /);
    expect(result.stderr).toMatch(/epoch/);
    const report = JSON.parse(result.stdout);
    expect(report.status).toBe('succeeded');
    expect(typeof report.backend).toBe('string');
    expect(report.metrics.classes).toHaveLength(6);
    // Six balanced classes: chance is 1/6. A working transfer pipeline is far above it.
    expect(report.metrics.accuracy).toBeGreaterThan(0.5);
    expect(report.metrics.confusion).toHaveLength(6);
    expect(Object.keys(report.timingsMs)).toEqual(expect.arrayContaining(['dataset', 'train', 'evaluate', 'deploy']));
    const modelDir = report.deployment.dir as string;
    const images = [path.join(datasetDir, 'scratches', 'scratches_1.png'), path.join(datasetDir, 'patches', 'patches_1.png')];
    const predicted = await cli(['predict', modelDir, ...images, '--json']);
    expect(predicted.code, predicted.stderr).toBe(0);
    const predictions = JSON.parse(predicted.stdout) as { label: string; probabilities: Record<string, number> }[];
    expect(predictions).toHaveLength(2);
    for (const p of predictions) {
      const sum = Object.values(p.probabilities).reduce((a, b) => a + b, 0);
      expect(sum).toBeCloseTo(1, 3);
      expect(Object.keys(p.probabilities)).toContain(p.label);
    }
  });

  it('predict applies the decision threshold carried in defectflow.json; without one it keeps argmax', async () => {
    const pipeline = await smallPipeline();
    const result = await cli(['run', pipeline, '--dataset', datasetDir, '--json']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    // The human summary names the baseline beside the accuracy (six balanced classes: always one is ~1/6).
    expect(result.stderr).toMatch(/result: accuracy [\d.]+ % \(always '[a-z_-]+': [\d.]+ %\)/);
    expect(report.metrics.baseline.accuracy).toBeLessThan(0.3);
    expect(typeof report.metrics.beatsBaseline).toBe('boolean');
    const modelDir = report.deployment.dir as string;
    const metaFile = path.join(modelDir, 'defectflow.json');
    const meta = JSON.parse(await readFile(metaFile, 'utf8'));
    expect(meta.decision).toBeNull(); // argmax template
    const images = ['scratches', 'patches', 'crazing'].map((c) => path.join(datasetDir, c, `${c}_2.png`));
    const predict = async () => {
      const out = await cli(['predict', modelDir, ...images, '--json']);
      expect(out.code, out.stderr).toBe(0);
      return (JSON.parse(out.stdout) as { label: string; probabilities: Record<string, number> }[]).map((p) => p.label);
    };
    const argmax = await predict();
    // Treat "crazing" as the good class: a threshold above every defect score passes everything as crazing…
    await writeFile(metaFile, JSON.stringify({ ...meta, decision: { goodClass: 'crazing', threshold: 1.000001, mode: 'false-alarm', target: 0 } }));
    expect(await predict()).toEqual(['crazing', 'crazing', 'crazing']);
    // …and threshold 0 flags everything: never crazing, the most probable other class instead.
    await writeFile(metaFile, JSON.stringify({ ...meta, decision: { goodClass: 'crazing', threshold: 0, mode: 'defect-recall', target: 1 } }));
    const flagged = await predict();
    expect(flagged).not.toContain('crazing');
    expect(flagged.filter((l, i) => argmax[i] !== 'crazing' && l !== argmax[i])).toEqual([]);
  });

  it('refuses an invalid pipeline with the node and field named, without running anything', async () => {
    const graph = JSON.parse(await readFile(EXAMPLE, 'utf8'));
    graph.nodes.find((n: { type: string }) => n.type === 'train').params.epochs = 0;
    const file = path.join(work, 'bad.json');
    await writeFile(file, JSON.stringify(graph));
    const result = await cli(['run', file, '--json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('param_invalid');
    expect(result.stderr).toContain('epochs');
    expect(result.stdout).toBe('');
  });

  it('refuses a path-like node id by name and writes nothing outside (or inside) DATA_DIR', async () => {
    const graph = JSON.parse(await readFile(EXAMPLE, 'utf8'));
    const climb = `x/../../../../${path.basename(work)}-evil`;
    for (const n of graph.nodes) if (n.id === 'deploy') n.id = climb;
    for (const e of graph.edges) if (e.target === 'deploy') e.target = climb;
    const file = path.join(work, 'climb.json');
    await writeFile(file, JSON.stringify(graph));
    // Earlier tests of this file deploy into the same DATA_DIR: nothing may be added to what is there.
    const modelsBefore = await readdir(path.join(work, 'data', 'models')).catch(() => []);
    const result = await cli(['run', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`[invalid_id] Graph field "nodes.7.id": Node id "${climb}" is not allowed`);
    expect(await readdir(path.dirname(work))).not.toContain(`${path.basename(work)}-evil`);
    expect(await readdir(path.join(work, 'data', 'models')).catch(() => [])).toEqual(modelsBefore);
  });

  it('explains malformed JSON and unknown commands', async () => {
    const file = path.join(work, 'broken.json');
    await writeFile(file, '{"version": 1, "nodes": [');
    const broken = await cli(['run', file]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('broken.json');
    const unknown = await cli(['train-everything']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command');
  });
});
