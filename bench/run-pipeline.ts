/**
 * One cold run of a pipeline through the executor (as the runner runs it), with param overrides:
 * wall time, each node's time, test accuracy and macro-F1, peak RSS of this process. Run two
 * recipes interleaved (A B A B) to compare their times in one sitting.
 *
 *   npx tsx bench/run-pipeline.ts <dataset folder under /tmp/df-bench/datasets> [node.param=value ...]
 *   npx tsx bench/run-pipeline.ts sample-steel head.kind=dense head.pooling=avg train.classWeights=balanced
 *
 * pipeline: examples/default-pipeline.json; a fresh DATA_DIR (feature cache) per run unless
 * BENCH_DATA_DIR is set; VERBOSE=1 prints the node logs with time and RSS.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSampleDataset, initBackend } from '../packages/engine/src/index.ts';
import type { PipelineGraph, RunEventBody } from '../packages/nodes/src/index.ts';
import { MemoryOutputCache, execute } from '../packages/nodes/src/runtime/index.ts';

const [dataset = 'sample-steel', ...overrides] = process.argv.slice(2);
const DATASETS = '/tmp/df-bench/datasets';
if (!existsSync(path.join(DATASETS, dataset))) {
  await generateSampleDataset(path.join(DATASETS, dataset), { kind: dataset.includes('tiles') ? 'small-defects' : 'steel' });
}
const graph = JSON.parse(readFileSync('examples/default-pipeline.json', 'utf8')) as PipelineGraph;
for (const n of graph.nodes) if (n.type === 'dataset') n.params.path = dataset;
for (const o of overrides) {
  const [key = '', raw = ''] = o.split('=');
  const [id, param = ''] = key.split('.');
  const node = graph.nodes.find((n) => n.id === id);
  if (!node) throw new Error(`no node ${id}`);
  node.params[param] = raw === 'true' ? true : raw === 'false' ? false : Number.isNaN(Number(raw)) ? raw : Number(raw);
}
const info = await initBackend();
const dataDir = process.env.BENCH_DATA_DIR ?? mkdtempSync(path.join(os.tmpdir(), 'df-run-'));
let peak = 0;
const timer = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 50);
const t0 = performance.now();
const mib = (b: number) => Math.round(b / 2 ** 20);
let evaluation: { accuracy?: number; macroF1?: number } = {};
const r = await execute({
  runId: 'bench',
  graph,
  cache: new MemoryOutputCache(),
  backend: { name: info.name, device: info.device },
  dirs: { dataDir, datasetsRoot: DATASETS, runDir: path.join(dataDir, 'runs', 'bench'), modelsDir: path.join(dataDir, 'models'), cacheDir: path.join(dataDir, 'cache') },
  sink: (e: RunEventBody) => {
    if (e.type === 'node.log' && process.env.VERBOSE) console.error(`${((performance.now() - t0) / 1000).toFixed(1)} s, ${mib(process.memoryUsage().rss)} MiB: ${e.nodeId}: ${e.message.slice(0, 160)}`);
    if (e.type === 'node.failed') console.error(`failed: ${e.nodeId}: ${e.message}`);
    if (e.type === 'node.finished' && e.nodeType === 'evaluate') evaluation = (e.summary ?? {}) as typeof evaluation;
  },
});
clearInterval(timer);
console.log(
  JSON.stringify({
    overrides,
    status: r.status,
    seconds: Number(((performance.now() - t0) / 1000).toFixed(1)),
    nodeMs: r.timings,
    accuracy: evaluation.accuracy,
    macroF1: evaluation.macroF1,
    peakMiB: mib(peak),
    load: os.loadavg().map((l) => l.toFixed(2)).join(' '),
  }),
);
