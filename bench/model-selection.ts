/**
 * Choosing the default head by measurement, with less noise than one run: features of every image
 * (plain + one augmented view, the default augment policy) are extracted once per backbone
 * setting, then each head recipe trains and tests on several seeded stratified 70/15/15 splits
 * (and a few-shot variant: 10 training images per class, same test images) — the recipe exactly
 * as trainOnDataset runs it (same features, projection, training loop, defaults of the train node).
 *
 *   npx tsx bench/model-selection.ts --dataset sample-tiles [--size 160] [--fit stretch] [--cut block_13_expand_relu]
 *        [--seeds 1,2,3] [--heads spatial:max:64,spatial:avgmax:64,dense:avg:128] [--few-shot 10] [--copies 1]
 *        [--class-weights balanced,none] (one row per value; default: the train node's)
 *        [--dims 128,96] (principal channel directions the spatial head trains on; one table row per value)
 *
 * Datasets are generated under --datasets (default /tmp/df-bench/datasets) if missing: sample-steel
 * and sample-tiles (the small-defects set). Prints a markdown table: mean ± spread over the seeds of
 * test accuracy, macro-F1 and the majority-class baseline, and the mean training time.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { defaultParams } from '../packages/nodes/src/registry.ts';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const E = await import('../packages/engine/src/index.ts');
const { SPATIAL_PROJECTION_DIMS, fitChannelProjection, projectChannels } = await import('../packages/engine/src/model/channel-projection.ts');
const { boundaryFeatureViews } = await import('../packages/engine/src/model/classifier.ts');
const { trainClassifier } = await import('../packages/engine/src/model/train.ts');

const DATASETS = path.resolve(arg('datasets', '/tmp/df-bench/datasets'));
const DATASET = arg('dataset', 'sample-tiles');
const SIZE = Number(arg('size', '160'));
const FIT = arg('fit', 'stretch');
const CUT = arg('cut', 'block_13_expand_relu');
const SEEDS = arg('seeds', '1,2,3').split(',').map(Number);
const HEADS = arg('heads', 'spatial:max:64,spatial:avgmax:64,dense:avg:128').split(',');
const FEW = Number(arg('few-shot', '0'));
const COPIES = Number(arg('copies', '1'));
const CLASS_WEIGHTS = arg('class-weights', '').split(',').filter(Boolean);
const DIMS = arg('dims', String(SPATIAL_PROJECTION_DIMS)).split(',').map(Number);

type Item = { id: string; label: number; path: string };

function split(items: Item[], classes: number, seed: number): { train: number[]; val: number[]; test: number[] } {
  const rand = E.seededRandom(seed);
  const out = { train: [] as number[], val: [] as number[], test: [] as number[] };
  for (let c = 0; c < classes; c++) {
    const idx = items.map((it, i) => (it.label === c ? i : -1)).filter((i) => i >= 0);
    for (let i = idx.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [idx[i], idx[j]] = [idx[j] as number, idx[i] as number];
    }
    const nTest = Math.max(1, Math.round(idx.length * 0.15));
    const nVal = Math.max(1, Math.round(idx.length * 0.15));
    out.test.push(...idx.slice(0, nTest));
    out.val.push(...idx.slice(nTest, nTest + nVal));
    const rest = idx.slice(nTest + nVal);
    out.train.push(...(FEW > 0 ? rest.slice(0, FEW) : rest));
  }
  return out;
}

function rows(data: Float32Array, per: number, idx: number[]): Float32Array {
  const x = new Float32Array(idx.length * per);
  for (const [r, i] of idx.entries()) x.set(data.subarray(i * per, (i + 1) * per), r * per);
  return x;
}

function avgPool(data: Float32Array, n: number, positions: number, channels: number): Float32Array {
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < positions; p++)
      for (let c = 0; c < channels; c++) out[i * channels + c] = (out[i * channels + c] as number) + (data[(i * positions + p) * channels + c] as number) / positions;
  return out;
}

function scores(pred: number[], truth: number[], classes: number) {
  let hits = 0;
  const tp = new Array(classes).fill(0);
  const fp = new Array(classes).fill(0);
  const fn = new Array(classes).fill(0);
  pred.forEach((p, i) => {
    const t = truth[i] as number;
    if (p === t) {
      hits++;
      tp[t]++;
    } else {
      fp[p]++;
      fn[t]++;
    }
  });
  const f1 = tp.map((v, c) => (2 * v) / Math.max(1, 2 * v + fp[c] + fn[c]));
  return { acc: hits / truth.length, macroF1: f1.reduce((a, b) => a + b, 0) / classes };
}

async function main(): Promise<void> {
  const kind = DATASET.includes('tiles') ? 'small-defects' : 'steel';
  if (!existsSync(path.join(DATASETS, DATASET))) {
    mkdirSync(DATASETS, { recursive: true });
    await E.generateSampleDataset(path.join(DATASETS, DATASET), { kind } as never);
  }
  await E.initBackend();
  const manifest = await E.loadDataset({ root: DATASETS, path: DATASET, valRatio: 0.15, testRatio: 0.15, seed: 1 });
  const items = manifest.items as unknown as Item[];
  const k = manifest.classes.length;
  const backbone = await E.loadBackbone({ cutAt: CUT, inputSize: SIZE, fit: FIT } as never);
  const frozen = await E.freezeBackbone(backbone, { mode: 'all' });
  const policy = E.normalizeAugmentPolicy({ ...defaultParams('augment'), copies: COPIES });
  const cache = new E.FeatureCache(path.join(DATASETS, '..', 'selection-cache'));
  const t0 = Date.now();
  const views = await boundaryFeatureViews(frozen, manifest.items, null, [null, ...Array.from({ length: COPIES }, (_, view) => ({ policy, view }))], {
    cache,
    datasetSignature: manifest.signature,
  });
  const extractS = (Date.now() - t0) / 1000;
  const [h, w, channels] = (views[0] as { shape: number[] }).shape as [number, number, number];
  const positions = h * w;
  const per = positions * channels;
  const train = defaultParams('train') as Record<string, unknown>;
  const table: string[] = [];
  const weightings = CLASS_WEIGHTS.length ? CLASS_WEIGHTS : [String(train.classWeights)];
  const specs = HEADS.flatMap((spec) => (spec.startsWith('spatial') ? DIMS.map((d) => ({ spec, dims: d })) : [{ spec, dims: 0 }])).flatMap((s) =>
    weightings.map((classWeights) => ({ ...s, classWeights })),
  );
  for (const { spec, dims, classWeights } of specs) {
    const [headKind, pooling, width] = spec.split(':') as ['spatial' | 'dense', 'avg' | 'max' | 'avgmax', string];
    const results: { acc: number; macroF1: number; base: number; baseF1: number; s: number }[] = [];
    for (const seed of SEEDS) {
      const s = split(items, k, seed);
      const y = (idx: number[]) => idx.map((i) => items[i]?.label as number);
      let trainX: Float32Array;
      let valX: Float32Array;
      let testX: Float32Array;
      let shape: number[];
      let projection = null;
      if (headKind === 'dense') {
        const pooled = views.map((v) => avgPool(v.data, v.n, positions, channels));
        trainX = new Float32Array([...pooled.flatMap((p) => Array.from(rows(p, channels, s.train)))]);
        valX = rows(pooled[0] as Float32Array, channels, s.val);
        testX = rows(pooled[0] as Float32Array, channels, s.test);
        shape = [channels];
      } else {
        const parts = views.map((v) => ({ x: rows(v.data, per, s.train), y: y(s.train) }));
        projection = await fitChannelProjection(parts, positions, channels, dims, 42);
        const projected = await Promise.all(parts.map((p) => projectChannels(p.x, projection as never)));
        trainX = new Float32Array(projected.reduce((a, p) => a + p.length, 0));
        let o = 0;
        for (const p of projected) {
          trainX.set(p, o);
          o += p.length;
        }
        valX = await projectChannels(rows(views[0]?.data as Float32Array, per, s.val), projection);
        testX = rows(views[0]?.data as Float32Array, per, s.test);
        shape = [h, w, dims];
      }
      const head = E.buildHead({
        kind: headKind,
        pooling,
        filters: Number(width),
        hidden: headKind === 'dense' ? Number(width) : 0,
        dropout: 0.2,
        numClasses: k,
        inputShape: headKind === 'dense' ? [channels] : [h, w, channels],
        seed: 42,
      });
      const started = Date.now();
      await trainClassifier({
        ...(train as object),
        head,
        train: { x: trainX, shape, y: Array.from({ length: views.length }, () => y(s.train)).flat() },
        val: { x: valX, shape, y: y(s.val) },
        numClasses: k,
        classWeights: classWeights as 'none' | 'balanced',
        channelProjection: projection,
      });
      const secs = (Date.now() - started) / 1000;
      const testShape = headKind === 'dense' ? [channels] : [h, w, channels];
      const perTest = testShape.reduce((a, b) => a * b, 1);
      const pred: number[] = [];
      for (let i = 0; i < s.test.length; i += 64) {
        const e = Math.min(s.test.length, i + 64);
        const p = tf.tidy(() => (head.predict(tf.tensor(testX.subarray(i * perTest, e * perTest), [e - i, ...testShape])) as tf.Tensor).argMax(1).dataSync());
        pred.push(...Array.from(p));
      }
      const truth = y(s.test);
      const m = scores(pred, truth, k);
      const counts = new Array(k).fill(0);
      for (const c of y(s.train)) counts[c]++;
      const major = counts.indexOf(Math.max(...counts));
      const b = scores(truth.map(() => major), truth, k);
      results.push({ acc: m.acc, macroF1: m.macroF1, base: b.acc, baseF1: b.macroF1, s: secs });
      head.dispose();
    }
    const mean = (f: (r: (typeof results)[number]) => number) => results.reduce((a, r) => a + f(r), 0) / results.length;
    const range = (f: (r: (typeof results)[number]) => number) => `${Math.min(...results.map(f)).toFixed(3)}–${Math.max(...results.map(f)).toFixed(3)}`;
    table.push(
      `| ${DATASET} | ${SIZE} ${FIT} | ${FEW ? `${FEW}/class` : 'all'} | ${spec}${dims ? ` on ${dims} dims` : ''}, ${classWeights} weights | ${mean((r) => r.acc).toFixed(3)} (${range((r) => r.acc)}) | ${mean((r) => r.macroF1).toFixed(3)} (${range((r) => r.macroF1)}) | ${mean((r) => r.base).toFixed(3)} / ${mean((r) => r.baseF1).toFixed(3)} | ${mean((r) => r.s).toFixed(1)} |`,
    );
    console.error(table[table.length - 1]);
  }
  console.log(machineHeader(`model selection (${loadNow()}), features extracted in ${extractS.toFixed(1)} s, seeds ${SEEDS.join(',')}`));
  console.log('| data | input | train images | head (kind:pooling:width) | test acc (range) | macro-F1 (range) | baseline acc / macro-F1 | train s |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const row of table) console.log(row);
}

await main();
