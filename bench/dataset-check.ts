/**
 * Issue 14 item 4 — the dataset check's cost: header-only (before) vs decoding every image (now, which
 * finds truncated files), on the 1,800-image steel sample set. Rounds alternate the two so a busy
 * machine slows both alike; the median of each is printed, with the ratio.
 *
 *   npx tsx bench/dataset-check.ts [--datasets /tmp/df-check-bench] [--rounds 3]
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { generateSampleDataset, loadDataset } from '../packages/engine/src/data/index.ts';
import { arg, loadNow, machineHeader, median } from './lib/machine.ts';

const ROOT = path.resolve(arg('datasets', '/tmp/df-check-bench'));
const ROUNDS = Number(arg('rounds', '3'));

if (!existsSync(path.join(ROOT, 'steel'))) await generateSampleDataset(path.join(ROOT, 'steel'));
const times: Record<'header' | 'decode', number[]> = { header: [], decode: [] };
let images = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const check of ['header', 'decode'] as const) {
    const started = performance.now();
    // Duplicates off: the same cost either way, and not what is compared here.
    const m = await loadDataset({ root: ROOT, path: 'steel', checkImages: check, checkDuplicates: false });
    times[check].push(performance.now() - started);
    images = m.items.length;
  }
}
console.log(machineHeader('Dataset check: header only vs full decode'));
console.log(`| check | images | median of ${ROUNDS} | runs (ms) |`);
console.log('|---|---|---|---|');
for (const check of ['header', 'decode'] as const) {
  console.log(`| ${check} | ${images} | ${(median(times[check]) / 1000).toFixed(2)} s | ${times[check].map((t) => Math.round(t)).join(', ')} |`);
}
console.log(`\nratio decode / header: ${(median(times.decode) / median(times.header)).toFixed(1)}× (load at end: ${loadNow()})`);
