/**
 * Issue 13 item 2 — aspect ratio: stretch vs letterbox vs tiles (max over tiles), each with the
 * default dense head (avg pooling) and with max pooling, on data whose images vary in aspect.
 *
 *   npx tsx bench/aspect-fit.ts [--datasets /tmp/df-fit-bench] [--scale 0.5] [--size 160] [--fits stretch,letterbox,tiles]
 *     [--pools avg,max] [--split-seed 42] [--head-kind dense|spatial]
 *
 * Data: the small-defects sample (generateSampleDataset kind 'small-defects': ~70 % good, five small
 * defect classes, 1:1 to 1:3 images either way), seeded 70/15/15 split. Template settings otherwise:
 * MobileNetV2 cut at block_13_expand_relu, default augmentation (1 copy), Adam, 30 epochs with early
 * stopping, balanced class weights. Time = feature extraction (all splits, cold cache) + training.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../packages/engine/src/backend/index.ts';
import { type ImageFit, generateSampleDataset, loadDataset } from '../packages/engine/src/data/index.ts';
import { loadBackbone } from '../packages/engine/src/model/backbone.ts';
import { disposeTrained, predictItems, trainOnDataset } from '../packages/engine/src/model/classifier.ts';
import { evaluateClassifier } from '../packages/engine/src/model/evaluate.ts';
import { FeatureCache } from '../packages/engine/src/model/features.ts';
import type { Pooling } from '../packages/engine/src/model/features.ts';
import { arg, machineHeader } from './lib/machine.ts';

const ROOT = path.resolve(arg('datasets', '/tmp/df-fit-bench'));
const SCALE = Number(arg('scale', '0.5'));
const SIZE = Number(arg('size', '160'));
const FITS = arg('fits', 'stretch,letterbox,tiles').split(',') as ImageFit[];
const POOLS = arg('pools', 'avg,max').split(',') as Pooling[];
const SPLIT_SEED = Number(arg('split-seed', '42'));
const HEAD_KIND = arg('head-kind', 'dense') as 'dense' | 'spatial';

await initBackend();
const name = `small-defects-${SCALE}`;
if (!existsSync(path.join(ROOT, name))) await generateSampleDataset(path.join(ROOT, name), { kind: 'small-defects', scale: SCALE, seed: 42 });
const manifest = await loadDataset({ root: ROOT, path: name, valRatio: 0.15, testRatio: 0.15, seed: SPLIT_SEED });
const test = manifest.items.filter((i) => i.split === 'test');
console.log(machineHeader('aspect fit'));
console.log(`${manifest.items.length} images, classes ${manifest.classes.join(', ')}, test ${test.length} (split seed ${SPLIT_SEED}), ${SIZE} px, ${HEAD_KIND} head\n`);
console.log('| fit | pooling | accuracy | macro-F1 | features+eval s | train s | total s |');
console.log('|---|---|---|---|---|---|---|');
for (const fit of FITS) {
  const backbone = await loadBackbone({ inputSize: SIZE, cutAt: 'block_13_expand_relu', fit });
  for (const pooling of POOLS) {
    const dir = path.join(ROOT, 'cache', `${fit}-${pooling}-${Date.now()}`);
    const cache = new FeatureCache(dir);
    const started = Date.now();
    const trained = await trainOnDataset({
      manifest,
      augmentation: { copies: 1, seed: 42 },
      backbone,
      headSpec: { kind: HEAD_KIND, pooling },
      cache,
      epochs: 30,
      earlyStopping: true,
      patience: 5,
      classWeights: 'balanced',
      seed: 42,
    });
    const trainMs = trained.durationMs;
    const metrics = await evaluateClassifier({
      predictProbs: (items) => predictItems(trained, test.filter((t) => items.some((i) => i.id === t.id)), { cache, datasetSignature: manifest.signature }),
      items: test.map((i) => ({ id: i.id, label: i.label })),
      classes: manifest.classes,
    });
    const total = Date.now() - started;
    const featMs = total - trainMs;
    console.log(
      `| ${fit} | ${pooling} | ${metrics.accuracy.toFixed(3)} | ${metrics.macroF1.toFixed(3)} | ${(featMs / 1000).toFixed(1)} | ${(trainMs / 1000).toFixed(1)} | ${(total / 1000).toFixed(1)} |`,
    );
    disposeTrained(trained);
    await fs.rm(dir, { recursive: true, force: true });
  }
  backbone.model.dispose();
}
