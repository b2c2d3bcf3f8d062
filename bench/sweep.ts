/**
 * Issue 19 — a 30-trial sweep of head and training params on the steel sample finishes within 30× one warm trial,
 * and its best trial's validation macro F1 is at least the default params'.
 *
 *   npx tsx bench/sweep.ts [--trials 30] [--seed 1] [--strategy halving|random|grid] [--datasets /tmp/df-bench/datasets]
 *
 * In this one process, as `defectflow sweep` runs trials (execute() with the real run functions, one shared output
 * cache and one feature cache, trials one after another):
 *  1. warm-up (timed, not a target): a trial graph with 1 training epoch, cold caches — extracts the train, val and
 *     augmented features and fills the output cache with the upstream nodes;
 *  2. the warm trial: the default template's params as a trial (evaluation on val), features from the cache;
 *  3. the sweep: runSweep, --strategy (default halving: most configurations train a few epochs, the best of each
 *     rung eta× as many, up to the template's own), --trials trials over train.learningRate (log 1e-4..3e-2),
 *     train.batchSize {32, 64, 128}, train.optimizer {adam, sgd}, head.dropout (0..0.5), head.filters {64, 128, 256},
 *     ranked by validation macro F1; trial 1 is the template's own values (the baseline; in halving it trains the
 *     first rung's epochs like every configuration); total wall time from runSweep's start to its end. The best is
 *     picked over every trial of every rung (bestTrial).
 * The sample set (1,800 images, 200 px) is generated once under --datasets if missing (not timed).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateSampleDataset, initBackend } from '../packages/engine/src/index.ts';
import {
  type PipelineGraph,
  runSweep,
  sweepSpecSchema,
  type TrialParams,
  trialGraph,
  trialReusedFeatures,
  trialScore,
} from '../packages/nodes/src/index.ts';
import { createOutputCache, execute } from '../packages/nodes/src/runtime/index.ts';
import { arg, loadNow, machineHeader, median } from './lib/machine.ts';

const TRIALS = Number(arg('trials', '30'));
const SEED = Number(arg('seed', '1'));
const STRATEGY = arg('strategy', 'halving');
const DATASETS = path.resolve(arg('datasets', '/tmp/df-bench/datasets'));

if (!existsSync(path.join(DATASETS, 'sample-steel'))) await generateSampleDataset(path.join(DATASETS, 'sample-steel'), { kind: 'steel' });
const graph = JSON.parse(readFileSync('examples/default-pipeline.json', 'utf8')) as PipelineGraph;
const info = await initBackend();
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'df-sweep-'));
const cache = createOutputCache({ maxEntries: 32 });
let n = 0;

async function trial(params: TrialParams) {
  const runId = `bench-${++n}`;
  const g = trialGraph(graph, params);
  const t0 = performance.now();
  const r = await execute({
    runId,
    graph: g,
    cache,
    backend: { name: info.name, device: info.device },
    dirs: { dataDir, datasetsRoot: DATASETS, runDir: path.join(dataDir, 'runs', runId), modelsDir: path.join(dataDir, 'models'), cacheDir: path.join(dataDir, 'cache') },
    sink: (e) => {
      if (e.type === 'node.failed') console.error(`${runId}: ${e.nodeId} failed: ${e.message}`);
    },
  });
  return {
    status: r.status,
    ms: performance.now() - t0,
    macroF1: trialScore(g, r.summaries, 'macroF1'),
    reused: trialReusedFeatures(g, r.summaries, r.cached),
    epochs: r.summaries.train?.epochs as number | undefined,
    error: r.error,
  };
}

const header = machineHeader('Sweep: 30 trials of head and training params vs one warm trial (issue 19)');
const warmup = await trial({ 'train.epochs': 1 });
const warm = await trial({});
console.error(`warm-up ${(warmup.ms / 1000).toFixed(1)} s; warm default trial ${(warm.ms / 1000).toFixed(1)} s, val macro F1 ${warm.macroF1}, reused ${warm.reused}`);

const spec = sweepSpecSchema.parse({
  strategy: STRATEGY,
  metric: 'macroF1',
  seed: SEED,
  parallel: 1,
  budget: { trials: TRIALS },
  dimensions: [
    { nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 3e-2 },
    { nodeId: 'train', param: 'batchSize', kind: 'list', values: [32, 64, 128] },
    { nodeId: 'train', param: 'optimizer', kind: 'list', values: ['adam', 'sgd'] },
    { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.5 },
    { nodeId: 'head', param: 'filters', kind: 'list', values: [64, 128, 256] },
  ],
});
const rows: { index: number; rung: number; baseline: boolean; params: TrialParams; ms: number; macroF1: number | null; reused: boolean; epochs?: number }[] = [];
const t0 = performance.now();
const result = await runSweep({
  graph,
  spec,
  runTrial: async (plan) => {
    const r = await trial(plan.params);
    rows.push({ index: plan.index, rung: plan.rung, baseline: plan.baseline === true, params: plan.params, ms: r.ms, macroF1: r.macroF1, reused: r.reused, epochs: r.epochs });
    // As it goes, so a run stopped early still says what it measured.
    console.error(`trial ${plan.index + 1}${plan.baseline ? ' (current settings)' : ''}: ${JSON.stringify(plan.params)} ${(r.ms / 1000).toFixed(1)} s, F1 ${r.macroF1}, reused ${r.reused}, ${r.epochs} epochs, load ${loadNow()}`);
    return {
      status: r.status,
      score: r.macroF1,
      reusedFeatures: r.reused,
      epochs: r.epochs ?? null,
      durationMs: Math.round(r.ms),
      ...(r.error ? { error: r.error } : {}),
    };
  },
});
const totalMs = performance.now() - t0;

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const f1 = (v: number | null | undefined) => (typeof v === 'number' ? v.toFixed(3) : 'n/a');
const best = result.best;
const times = rows.map((r) => r.ms);
console.log(header);
console.log(`\`npx tsx bench/sweep.ts --trials ${TRIALS} --seed ${SEED} --strategy ${STRATEGY}\` (load at end: ${loadNow()}), backend ${info.name} (${info.device})\n`);
console.log('| measure | value |');
console.log('|---|---|');
console.log(`| warm-up trial (cold caches, 1 epoch) | ${s(warmup.ms)} |`);
console.log(`| warm trial, default params (features cached) | **${s(warm.ms)}**, val macro F1 ${f1(warm.macroF1)}, ${warm.epochs} epochs |`);
console.log(`| ${rows.length}-trial sweep, total | **${s(totalMs)}** = **${(totalMs / warm.ms).toFixed(1)}×** the warm trial (target ≤ ${TRIALS}×) |`);
console.log(`| trial time min / median / max | ${s(Math.min(...times))} / ${s(median(times))} / ${s(Math.max(...times))} |`);
console.log(`| trials on cached features | ${rows.filter((r) => r.reused).length} of ${rows.length} |`);
console.log(`| trials succeeded | ${result.trials.filter((t) => t.outcome?.status === 'succeeded').length} of ${result.trials.length} (${result.stoppedBy}) |`);
const baseline = result.trials.filter((t) => t.baseline);
if (baseline.length > 0) {
  const runs = baseline.map((t) => `#${t.index + 1} (rung ${t.rung}, ${t.outcome?.epochs ?? '?'} epochs) ${f1(t.outcome?.score)}`).join(' · ');
  console.log(`| baseline trials (the template's values) | ${runs} |`);
}
const bestWhere = best ? `#${best.index + 1}${best.baseline ? ' (current settings)' : ''}, rung ${best.rung}, ${best.outcome?.epochs ?? '?'} epochs` : '';
console.log(`| best trial (any rung) | ${best ? `${bestWhere}: val macro F1 **${f1(best.outcome?.score)}** vs default ${f1(warm.macroF1)}` : 'none'} |`);
if (best) console.log(`| best params | ${Object.entries(best.params).map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(4)) : v}`).join(', ')} |`);
console.log('\n| trial | rung | params | val macro F1 | epochs | time |');
console.log('|---|---|---|---|---|---|');
for (const r of rows.sort((a, b) => a.index - b.index)) {
  const p = Object.entries(r.params).map(([k, v]) => `${k.split('.')[1]}=${typeof v === 'number' ? Number(v.toPrecision(3)) : v}`).join(' ');
  console.log(`| ${r.index + 1}${r.baseline ? ' (current)' : ''}${r.index === best?.index ? ' ★' : ''} | ${r.rung} | ${p} | ${f1(r.macroF1)} | ${r.epochs ?? ''} | ${s(r.ms)} |`);
}
