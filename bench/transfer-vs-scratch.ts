/**
 * Target 4 — transfer vs scratch: wall time to reach 95 % validation accuracy with the pretrained
 * backbone versus the same architecture from random initialisation, same data, same run.
 *
 *   npx tsx bench/transfer-vs-scratch.ts [--datasets /tmp/df-bench/datasets] [--target 0.95] [--scratch-budget 150]
 *
 * Data: the 1,800-image synthetic sample set (generated under --datasets if missing), its seeded
 * 70/15/15 split, no augmentation, 160×160, MobileNetV2 cut at block_13_expand_relu (the default).
 * Rows, one after another in this process; each clock starts before feature extraction (no cache):
 *  - transfer: pretrained backbone frozen, pooled features + the default head (what Run does);
 *  - scratch, frozen: the same architecture with seeded random weights, frozen, same head
 *    (the cheap scratch baseline: random features);
 *  - scratch, trained: random init, frozen up to block_6_expand_relu and blocks 6–13 + head
 *    trained by autodiff (an earlier boundary caches > 1 GB of activations at 160×160); given
 *    min(20 × transfer time, --scratch-budget s) of wall time, then cancelled.
 * A row that never reaches the target is reported with its best val accuracy and time spent.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { generateSampleDataset, loadDataset } from '../packages/engine/src/data/index.ts';
import { initBackend } from '../packages/engine/src/backend/index.ts';
import { type FreezeOptions, freezeBackbone, loadBackbone } from '../packages/engine/src/model/backbone.ts';
import { disposeTrained, trainOnDataset } from '../packages/engine/src/model/classifier.ts';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const DATASETS = path.resolve(arg('datasets', '/tmp/df-bench/datasets'));
const TARGET = Number(arg('target', '0.95'));
const SCRATCH_BUDGET_S = Number(arg('scratch-budget', '150'));

interface Row {
  label: string;
  reachedMs: number | null;
  spentMs: number;
  bestValAcc: number;
  epochs: number;
  batches: number;
  note: string;
}

async function race(label: string, source: 'mobilenet_v2' | 'scratch', freeze: FreezeOptions, budgetMs: number, epochs: number): Promise<Row> {
  const manifest = await loadDataset({ root: DATASETS, path: 'sample-steel' });
  const backbone = await loadBackbone({ source, inputSize: 160, cutAt: 'block_13_expand_relu', seed: 42 });
  const mode = freeze;
  const controller = new AbortController();
  const t0 = performance.now();
  const timer = setTimeout(() => controller.abort(), budgetMs);
  let reachedMs: number | null = null;
  let best = 0;
  let epochsDone = 0;
  let batches = 0;
  let note = '';
  try {
    const frozen = await freezeBackbone(backbone, mode);
    const trained = await trainOnDataset({
      manifest,
      backbone: frozen,
      epochs,
      earlyStopping: false,
      signal: controller.signal,
      log: (m) => {
        if (m.startsWith('features:')) note = m;
      },
      onBatch: () => {
        batches++;
      },
      onEpoch: (e) => {
        epochsDone = e.epoch;
        best = Math.max(best, e.valAcc ?? 0);
        if (reachedMs === null && (e.valAcc ?? 0) >= TARGET) {
          reachedMs = performance.now() - t0;
          controller.abort();
        }
      },
    });
    disposeTrained(trained);
  } catch (err) {
    if (!(err instanceof Error && /cancelled/.test(err.message))) throw err;
  } finally {
    clearTimeout(timer);
    backbone.model.dispose();
  }
  const spentMs = performance.now() - t0;
  process.stderr.write(`${label}: ${reachedMs === null ? 'not reached' : `${(reachedMs / 1000).toFixed(1)} s`} (best ${best.toFixed(3)}, ${epochsDone} epochs, ${(spentMs / 1000).toFixed(0)} s)\n`);
  return { label, reachedMs, spentMs, bestValAcc: best, epochs: epochsDone, batches, note };
}

const info = await initBackend();
if (!existsSync(path.join(DATASETS, 'sample-steel'))) await generateSampleDataset(path.join(DATASETS, 'sample-steel'), {});
const header = machineHeader(`Transfer vs scratch (target 4: time to ${TARGET * 100} % val accuracy, ≥ 20× faster)`);
const transfer = await race('transfer: pretrained, frozen, default head', 'mobilenet_v2', { mode: 'all' }, 10 * 60_000, 200);
const t = transfer.reachedMs ?? transfer.spentMs;
const frozenScratch = await race('scratch, frozen random backbone + head', 'scratch', { mode: 'all' }, Math.min(20 * t, 5 * 60_000), 200);
const e2eBudget = Math.min(20 * t, SCRATCH_BUDGET_S * 1000);
const e2e = await race('scratch, trained: random init, blocks 6–13 trained by autodiff', 'scratch', { mode: 'upTo', upToBlock: 'block_6_expand_relu' }, e2eBudget, 200);
console.log(header);
console.log(`- backend for training: ${info.name} (${info.device}); feature extraction: ${transfer.note || 'see log'}\n`);
console.log('| row | time to ≥ 95 % val acc | ratio to transfer | best val acc | epochs done | wall spent |');
console.log('|---|---|---|---|---|---|');
for (const r of [transfer, frozenScratch, e2e]) {
  const ratio = r.reachedMs !== null ? `${(r.reachedMs / t).toFixed(1)}×` : `> ${(r.spentMs / t).toFixed(1)}× (not reached)`;
  console.log(
    `| ${r.label} | ${r.reachedMs === null ? 'not reached' : `${(r.reachedMs / 1000).toFixed(1)} s`} | ${r === transfer ? '1×' : ratio} | ${r.bestValAcc.toFixed(3)} | ${r.epochs} (${r.batches} batches) | ${(r.spentMs / 1000).toFixed(0)} s |`,
  );
}
if (e2e.reachedMs === null && e2e.spentMs < 20 * t * 0.99)
  console.log(`\nTrained scratch was cut at ${(e2e.spentMs / 1000).toFixed(0)} s (--scratch-budget), short of 20× transfer = ${((20 * t) / 1000).toFixed(0)} s; its best val accuracy by then is the evidence.`);
console.log(`\nload average at end: ${loadNow()}`);
