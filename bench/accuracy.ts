/**
 * Accuracy of a pipeline on both synthetic sets, with all training images and with 10 per class.
 *
 *   npx tsx bench/accuracy.ts [pipeline.json] [node.param=value ...] [--data /tmp/df-bench/accuracy]
 *                             [--sets steel,small-defects] [--shots full,10]
 *
 * pipeline.json defaults to examples/default-pipeline.json. Overrides name a node by id or type and
 * take JSON values (strings unquoted): `head.pooling=max backbone.inputSize=224 train.epochs=40`.
 *
 * The sets are generated under --data/datasets once (sample-steel: the default steel sample,
 * sample-tiles: the small-defects sample). For each set two CSV manifests are written next to the
 * images with one stratified, seeded split: the same val (15 %) and test (15 %) images in both,
 * all remaining images as train in bench-full.csv, 10 of them per class in bench-10.csv — so the
 * two rows of a set are tested on the same images. Every case runs through the executor the CLI
 * uses (execute() + the CLI's backend choice and result summary) with a fresh feature cache, and
 * prints one table row: test accuracy, macro-F1, the accuracy and macro-F1 of always predicting
 * the largest class, and wall time (features + training + evaluation + export).
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { initCliBackend } from '../apps/cli/src/backend.ts';
import { summarizeRun } from '../apps/cli/src/commands/run.ts';
import { type SampleDatasetKind, createRng, generateSampleDataset, hashSeed } from '../packages/engine/src/index.ts';
import { type PipelineGraph, parseGraphJson, validateGraph } from '../packages/nodes/src/index.ts';
import { MemoryOutputCache, execute } from '../packages/nodes/src/runtime/index.ts';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATA = path.resolve(arg('data', '/tmp/df-bench/accuracy'));
const DATASETS = path.join(DATA, 'datasets');
const SETS: Record<string, { dir: string; kind: SampleDatasetKind }> = {
  steel: { dir: 'sample-steel', kind: 'steel' },
  'small-defects': { dir: 'sample-tiles', kind: 'small-defects' },
};
const SHOTS = 10;
const VAL = 0.15;
const TEST = 0.15;

function positionals(): string[] {
  const out: string[] = [];
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if ((argv[i] as string).startsWith('--')) i++; // every option takes a value
    else out.push(argv[i] as string);
  }
  return out;
}

/** `node.param=value` → params of every node whose id or type is `node`; a name matching nothing is an error. */
function applyOverrides(graph: PipelineGraph, overrides: string[]): PipelineGraph {
  let nodes = graph.nodes;
  for (const o of overrides) {
    const m = /^([^.=]+)\.([^=]+)=(.*)$/.exec(o);
    if (!m) throw new Error(`override "${o}": expected node.param=value (node = id or type), e.g. head.pooling=max`);
    const [, name, param, raw] = m as unknown as [string, string, string, string];
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {} // unquoted strings stay strings
    if (!nodes.some((n) => n.id === name || n.type === name)) {
      throw new Error(`override "${o}": no node with id or type "${name}" (nodes: ${graph.nodes.map((n) => n.id).join(', ')})`);
    }
    nodes = nodes.map((n) => (n.id === name || n.type === name ? { ...n, params: { ...n.params, [param]: value } } : n));
  }
  return { ...graph, nodes };
}

/** Writes bench-full.csv and bench-10.csv into the set's folder (class folders of PNGs): one split for both. */
function writeManifests(dir: string): { classes: string[]; largestClass: string } {
  const csv = (rows: string[][]) => `path,label,split\n${rows.map((r) => r.join(',')).join('\n')}\n`;
  const classes = readdirClasses(dir);
  const full: string[][] = [];
  const few: string[][] = [];
  let largest = { name: '', n: -1 };
  for (const cls of classes) {
    const files = readdirPngs(path.join(dir, cls));
    if (files.length > largest.n) largest = { name: cls, n: files.length };
    createRng(hashSeed('bench-accuracy', cls)).shuffle(files);
    const nTest = Math.max(1, Math.round(files.length * TEST));
    const nVal = Math.max(1, Math.round(files.length * VAL));
    files.forEach((f, i) => {
      const split = i < nTest ? 'test' : i < nTest + nVal ? 'val' : 'train';
      const row = [`${cls}/${f}`, cls, split];
      full.push(row);
      if (split !== 'train' || i < nTest + nVal + SHOTS) few.push(row);
    });
  }
  writeFileSync(path.join(dir, 'bench-full.csv'), csv(full));
  writeFileSync(path.join(dir, `bench-${SHOTS}.csv`), csv(few));
  return { classes, largestClass: largest.name };
}

function readdirClasses(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('.'))
    .map((d) => d.name)
    .sort();
}

function readdirPngs(dir: string): string[] {
  // Natural order (x_2 before x_10), so the seeded shuffle does not depend on the file system.
  return readdirSync(dir)
    .filter((f) => f.endsWith('.png'))
    .sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
}

/** The majority-class baseline on the test split: accuracy, and macro-F1 over all classes (one class has F1 > 0). */
function baseline(csvFile: string, largestClass: string, numClasses: number): { accuracy: number; macroF1: number } {
  const rows = readFileSync(csvFile, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const test = rows.filter((r) => r[2] === 'test');
  const hits = test.filter((r) => r[1] === largestClass).length;
  const precision = hits / test.length;
  const f1 = hits ? (2 * precision) / (precision + 1) : 0; // recall of the largest class is 1
  return { accuracy: hits / test.length, macroF1: f1 / numClasses };
}

async function main(): Promise<void> {
  const args = positionals();
  const file = args.find((a) => a.endsWith('.json')) ?? path.join(ROOT, 'examples/default-pipeline.json');
  const overrides = args.filter((a) => a.includes('='));
  const parsed = parseGraphJson(readFileSync(file, 'utf8'));
  if (!parsed.ok) throw new Error(`${file}: ${JSON.stringify('errors' in parsed ? parsed.errors : parsed)}`);
  const base = applyOverrides(parsed.graph, overrides);
  const sets = arg('sets', 'steel,small-defects').split(',');
  const shots = arg('shots', `full,${SHOTS}`).split(',');
  for (const s of sets) if (!SETS[s]) throw new Error(`--sets: unknown set "${s}" (known: ${Object.keys(SETS).join(', ')})`);
  for (const s of shots) if (s !== 'full' && s !== String(SHOTS)) throw new Error(`--shots: "${s}" is neither full nor ${SHOTS}`);

  const backend = await initCliBackend('auto');
  const header = machineHeader(`Accuracy: ${path.relative(ROOT, file) || file}${overrides.length ? ` with ${overrides.join(' ')}` : ''}`);
  const rows: string[] = [];
  for (const setName of sets) {
    const set = SETS[setName] as (typeof SETS)[string];
    const dir = path.join(DATASETS, set.dir);
    if (!existsSync(dir)) {
      process.stderr.write(`generating ${setName} into ${dir}…\n`);
      await generateSampleDataset(dir, { kind: set.kind });
    }
    const { classes, largestClass } = writeManifests(dir);
    for (const shot of shots) {
      const csvFile = `bench-${shot}.csv`;
      const graph: PipelineGraph = {
        ...base,
        nodes: base.nodes.map((n) => (n.type === 'dataset' ? { ...n, params: { ...n.params, path: set.dir, layout: 'csv', csvFile } } : n)),
      };
      const validation = validateGraph(graph);
      if (!validation.ok) throw new Error(validation.errors.map((e) => `[${e.code}] ${e.message}`).join('\n'));
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'df-bench-acc-'));
      const runId = `bench-${setName}-${shot}`;
      process.stderr.write(`${setName} × ${shot === 'full' ? 'all images' : `${shot} per class`}…\n`);
      const t0 = performance.now();
      const result = await execute({
        runId,
        graph,
        backend,
        cache: new MemoryOutputCache(),
        dirs: {
          dataDir,
          datasetsRoot: DATASETS,
          runDir: path.join(dataDir, 'runs', runId),
          modelsDir: path.join(dataDir, 'models'),
          cacheDir: path.join(dataDir, 'cache'),
        },
        sink: (e) => {
          if (e.type === 'node.failed') process.stderr.write(`  ${e.nodeId} failed: ${e.message}\n`);
        },
      });
      const seconds = (performance.now() - t0) / 1000;
      rmSync(dataDir, { recursive: true, force: true });
      const summary = summarizeRun(graph, result, backend);
      const m = summary.metrics;
      const b = baseline(path.join(dir, csvFile), largestClass, classes.length);
      const f = (x: unknown) => (typeof x === 'number' ? x.toFixed(3) : '–');
      const row = `| ${setName} | ${shot === 'full' ? 'all' : `${shot}/class`} | ${summary.status} | ${f(m?.accuracy)} | ${f(m?.macroF1)} | ${f(b.accuracy)} (${largestClass}) | ${f(b.macroF1)} | ${seconds.toFixed(1)} |`;
      rows.push(row);
      process.stderr.write(`${row}\n`);
    }
  }
  console.log(header);
  console.log('| set | train images | status | test accuracy | macro-F1 | always-largest accuracy | its macro-F1 | wall (s) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log(`\nbackend: ${backend.name} (${backend.device}); load average at end: ${loadNow()}`);
}

await main();
