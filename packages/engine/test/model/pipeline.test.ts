import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { generateSampleDataset, loadDataset } from '../../src/data/index.ts';
import type { DatasetManifest } from '../../src/data/index.ts';
import { freezeBackbone, loadBackbone } from '../../src/model/backbone.ts';
import { boundaryFeatureViews, boundaryFeatures, disposeTrained, predictItems, probsFromFeatures, trainOnDataset } from '../../src/model/classifier.ts';
import { normalizeAugmentPolicy } from '../../src/data/augment/policy.ts';
import { evaluateClassifier } from '../../src/model/evaluate.ts';
import { exportModel, loadExportedModel, predictImages } from '../../src/model/export.ts';
import { FeatureCache } from '../../src/model/features.ts';
import { OnnxFinetuneStepper } from '../../src/model/finetune-stepper.ts';

let tmp: string;
let manifest: DatasetManifest;

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-model-'));
  await generateSampleDataset(path.join(tmp, 'datasets', 'steel'), { perClass: 10, size: 64, seed: 5 });
  manifest = await loadDataset({ root: path.join(tmp, 'datasets'), path: 'steel', valRatio: 0.2, testRatio: 0.2, seed: 1 });
});

function maxAbsDiff(a: Float32Array | undefined, b: Float32Array | undefined): number {
  if (!a || !b || a.length !== b.length) return Number.POSITIVE_INFINITY;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** Exported-model probabilities equal the in-memory model's (rows × classes) within 1e-5. */
function expectSameProbabilities(predictions: { probabilities: Record<string, number> }[], inMemory: Float32Array): void {
  const k = manifest.classes.length;
  expect(predictions.length * k).toBe(inMemory.length);
  predictions.forEach((p, i) => {
    manifest.classes.forEach((c, j) => {
      expect(Math.abs((p.probabilities[c] as number) - (inMemory[i * k + j] as number))).toBeLessThan(1e-5);
    });
  });
}

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('dataset → features → head → evaluate → export → predict', () => {
  it('trains, evaluates, exports one self-contained model that reloads with identical predictions', async () => {
    const backbone = await loadBackbone({ cutAt: 'block_6_expand_relu', inputSize: 64 });
    const cache = new FeatureCache(path.join(tmp, 'cache'));
    const logs: string[] = [];
    const progress: string[] = [];
    const epochs: number[] = [];
    const trained = await trainOnDataset({
      manifest,
      augmentation: { copies: 1, seed: 3 },
      backbone,
      headSpec: { pooling: 'avgmax', hidden: 32, dropout: 0.1 },
      cache,
      prefetchSplit: 'test',
      // 36 images × 2 views is 3 batches an epoch: a higher rate so 20 epochs visibly learn.
      learningRate: 0.01,
      earlyStopping: false,
      epochs: 20,
      onProgress: (phase) => progress.push(phase),
      onEpoch: (e) => epochs.push(e.epoch),
      log: (m) => logs.push(m),
    });
    expect(trained.pooled).toBe(true);
    expect(trained.trainPath).toBe('dense');
    expect(trained.stepEngine).toBe('onnxruntime');
    expect(logs.some((l) => l.startsWith('training: dense path on onnxruntime'))).toBe(true);
    const nTrain = manifest.items.filter((i) => i.split === 'train').length;
    // Originals + one augmented copy, plus small-class views: 6 images a class is under
    // MIN_VIEWS_PER_CLASS (200), so each gets min(15, ceil(200 / 6) − 2) = 15 more augmented views.
    expect(nTrain).toBe(36);
    expect(trained.trainViews).toBe(nTrain * (2 + 15));
    expect(logs.some((l) => l.startsWith('small classes: ') && l.includes('adding 15 augmented views of each image'))).toBe(true);
    expect(progress).toContain('features:small-class views');
    // The plain images and their augmented view are extracted in one pass (one decode per image).
    expect(progress).toContain('features:train + 1 augmented view');
    expect(progress).toContain('features:val');
    expect(epochs[0]).toBe(1);

    // A second run reuses every cached activation (nothing extracted again).
    const again = await trainOnDataset({
      manifest,
      augmentation: { copies: 1, seed: 3 },
      backbone,
      headSpec: { pooling: 'avgmax' },
      cache,
      epochs: 1,
      log: (m) => logs.push(m),
    });
    expect(logs.filter((l) => l.includes('reused')).length).toBeGreaterThanOrEqual(3);
    // The counts a sweep reports: the first run extracted every view (plain + augmented train, small-class views,
    // val), the second read all of them from the cache and extracted none.
    expect(trained.featureViews).toEqual({ cached: 0, extracted: 2 + 15 + 1 });
    expect(again.featureViews).toEqual({ cached: 2 + 15 + 1, extracted: 0 });
    disposeTrained(again);

    const testItems = manifest.items.filter((i) => i.split === 'test');
    const opts = { cache, datasetSignature: manifest.signature };
    // The first run prefetched the test split while its head trained: predicting reuses it.
    expect(logs.some((l) => l.startsWith(`features: extracting ${testItems.length} test images while the head trains`))).toBe(true);
    const evalLogs: string[] = [];
    await predictItems(trained, testItems, { ...opts, log: (m) => evalLogs.push(m) });
    expect(evalLogs.filter((l) => l.includes('reused'))).toHaveLength(1);
    expect(evalLogs.some((l) => l.startsWith('features: onnxruntime'))).toBe(false);
    const metrics = await evaluateClassifier({
      predictProbs: (items) => predictItems(trained, testItems.filter((t) => items.some((i) => i.id === t.id)), opts),
      items: testItems.map((i) => ({ id: i.id, label: i.label })),
      classes: manifest.classes,
    });
    expect(metrics.count).toBe(testItems.length);
    // Ten 64-px images per class barely separate at this cut (accuracy swings around chance with
    // the seed), so learning is checked on the training loss; train.test.ts checks accuracy.
    const losses = trained.history.map((h) => h.loss);
    expect(losses[losses.length - 1]).toBeLessThan((losses[0] as number) - 0.05);
    const hits = metrics.predictions.filter((p) => p.predLabel === p.trueLabel).length;
    expect(metrics.accuracy).toBeCloseTo(hits / testItems.length, 10);

    const dir = path.join(tmp, 'models', 'm1');
    const exported = await exportModel(trained, dir, { name: 'steel-test', metrics });
    expect((await fs.readdir(dir)).sort()).toEqual(['defectflow.json', 'drift.bin', 'model.json', 'model.onnx', 'weights.bin']);
    expect(exported.meta.labels).toEqual(manifest.classes);
    expect(exported.meta.metrics?.accuracy).toBeCloseTo(metrics.accuracy);

    const loaded = await loadExportedModel(dir);
    expect(loaded.meta.inputSize).toBe(64);
    const predictions = await predictImages(loaded, testItems.map((i) => i.path));
    const inMemory = await predictItems(trained, testItems, opts);
    expectSameProbabilities(predictions, inMemory);
    predictions.forEach((p, i) => {
      expect(p.label).toBe(metrics.predictions[i]?.predLabel);
    });
    loaded.model?.dispose();
    disposeTrained(trained);
    backbone.model.dispose();
  });

  it('exports a model whose backbone blocks were fine-tuned (staged) with the trained weights inside', async () => {
    const backbone = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 64 });
    const frozen = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 1, headEpochs: 1 });
    // Autodiff through conv blocks is slow on CPU: a few images per class are enough here.
    const perClass = new Map<string, number>();
    const small = {
      ...manifest,
      items: manifest.items.filter((i) => {
        const key = `${i.split}:${i.label}`;
        perClass.set(key, (perClass.get(key) ?? 0) + 1);
        return (perClass.get(key) as number) <= (i.split === 'train' ? 2 : 1);
      }),
    };
    const trained = await trainOnDataset({ manifest: small, backbone: frozen, headSpec: { hidden: 0 }, epochs: 2, batchSize: 12 });
    expect(trained.trainPath).toBe('autodiff');
    expect(trained.trainable).not.toBe(frozen.trainable); // the port value is not mutated
    const dir = path.join(tmp, 'models', 'm2');
    await exportModel(trained, dir, { name: 'staged' });
    const items = manifest.items.filter((i) => i.split === 'test').slice(0, 4);
    const predictions = await predictImages(dir, items.map((i) => i.path));
    const inMemory = await predictItems(trained, items, { datasetSignature: manifest.signature });
    expectSameProbabilities(predictions, inMemory);
    disposeTrained(trained);
    frozen.trainable?.dispose();
    backbone.model.dispose();
  });

  it('fine-tunes blocks + spatial head in ONNX Runtime (staged) and exports a model that predicts what the trained network computes', async () => {
    const backbone = await loadBackbone({ inputSize: 64 });
    const frozen = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2, headEpochs: 2, fineTuneLrFactor: 0.1 });
    const phases: string[] = [];
    const trained = await trainOnDataset({
      manifest,
      augmentation: { copies: 1, seed: 3 },
      backbone: frozen,
      headSpec: { kind: 'spatial', filters: 16, pooling: 'max' },
      epochs: 4,
      batchSize: 8,
      earlyStopping: false,
      onEpoch: (e) => phases.push(e.phase),
    });
    expect(trained.trainPath).toBe('finetune');
    expect(trained.stepEngine).toBe('onnxruntime');
    expect(phases).toEqual(['head', 'head', 'finetune', 'finetune']);
    // The blocks were trained, in a copy: the Backbone port value keeps its weights.
    const moved = (trained.trainable as tf.LayersModel).getLayer('block_12_project').getWeights()[0]?.dataSync() as Float32Array;
    const original = (frozen.trainable as tf.LayersModel).getLayer('block_12_project').getWeights()[0]?.dataSync() as Float32Array;
    expect(maxAbsDiff(moved, original)).toBeGreaterThan(0);
    const dir = path.join(tmp, 'models', 'finetuned');
    await exportModel(trained, dir, { name: 'finetuned' });
    const items = manifest.items.filter((i) => i.split === 'test');
    const predictions = await predictImages(dir, items.map((i) => i.path));
    // The trained network as the ONNX training graphs compute it (blocks + head, inference mode).
    const made = await OnnxFinetuneStepper.create(trained.head, trained.trainable as tf.LayersModel, 'adam', manifest.classes.length, frozen.boundaryShape);
    if (!('stepper' in made)) throw new Error(made.reason);
    const maps = await boundaryFeatures(trained.backbone, items, null, { datasetSignature: manifest.signature });
    const viaTrainingGraph = await made.stepper.predict(maps.data, maps.n);
    const exported = Float32Array.from(predictions.flatMap((p) => manifest.classes.map((c) => p.probabilities[c] as number)));
    expect(maxAbsDiff(exported, viaTrainingGraph)).toBeLessThan(1e-4);
    // Evaluation predicts the fine-tuned blocks through the ONNX inference graph, as TF.js would.
    const ortPredict = vi.spyOn(OnnxFinetuneStepper.prototype, 'predict');
    const evaluated = await predictItems(trained, items, { datasetSignature: manifest.signature });
    expect(ortPredict).toHaveBeenCalledTimes(1);
    ortPredict.mockRestore();
    expect(maxAbsDiff(evaluated, probsFromFeatures(trained, maps))).toBeLessThan(1e-4);
    expectSameProbabilities(predictions, evaluated);
    disposeTrained(trained);
    frozen.trainable?.dispose();
    backbone.model.dispose();
  });

  it('extracts several views in one pass with the same features as one pass per view, batches straddling items', async () => {
    const backbone = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 64 });
    const frozen = await freezeBackbone(backbone, { mode: 'all' });
    const items = manifest.items.filter((i) => i.split === 'train').slice(0, 7);
    const policy = normalizeAugmentPolicy({ copies: 2, seed: 11, noise: 0.05 });
    const views = [null, { policy, view: 0 }, { policy, view: 1 }];
    // Batch 4 over 3 views per item: most batches end in the middle of an item's views.
    const opts = { datasetSignature: manifest.signature, batchSize: 4 };
    const together = await boundaryFeatureViews(frozen, items, 'avg', views, opts);
    for (const [v, view] of views.entries()) {
      const alone = await boundaryFeatures(frozen, items, 'avg', { ...opts, augment: view });
      expect(together[v]?.n).toBe(items.length);
      // Batches hold different images in each mode; a wrong row would differ by far more than this.
      expect(maxAbsDiff(together[v]?.data, alone.data)).toBeLessThan(1e-4);
    }
    // The views differ from each other (the augmentation did something).
    expect(maxAbsDiff(together[1]?.data, together[0]?.data)).toBeGreaterThan(1e-2);
    expect(maxAbsDiff(together[2]?.data, together[1]?.data)).toBeGreaterThan(1e-2);

    // With one view cached, only the others are extracted.
    const cache = new FeatureCache(path.join(tmp, 'cache-views'));
    await boundaryFeatures(frozen, items, 'avg', { ...opts, cache, augment: views[1] });
    const logs: string[] = [];
    const mixed = await boundaryFeatureViews(frozen, items, 'avg', views, { ...opts, cache, log: (m) => logs.push(m) });
    expect(logs.filter((l) => l.includes('reused'))).toHaveLength(1);
    expect(logs.some((l) => l.includes(`${items.length * 2} images`))).toBe(true);
    for (const [v, f] of mixed.entries()) expect(maxAbsDiff(f.data, together[v]?.data)).toBeLessThan(1e-4);
    backbone.model.dispose();
  });

  it('a caller asking for features being extracted waits for them instead of extracting them again', async () => {
    const backbone = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 64 });
    const frozen = await freezeBackbone(backbone, { mode: 'all' });
    const items = manifest.items.filter((i) => i.split === 'val');
    const cache = new FeatureCache(path.join(tmp, 'cache-inflight'));
    const logs: string[] = [];
    const opts = { cache, datasetSignature: manifest.signature, log: (m: string) => logs.push(m) };
    const [a, b] = await Promise.all([boundaryFeatures(frozen, items, 'avg', opts), boundaryFeatures(frozen, items, 'avg', opts)]);
    expect(logs.filter((l) => l.startsWith('features: onnxruntime'))).toHaveLength(1);
    expect(b.data).toBe(a.data);
    // A failed extraction is not left behind as pending: the next caller computes it.
    const aborted = new AbortController();
    aborted.abort();
    const cache2 = new FeatureCache(path.join(tmp, 'cache-inflight-2'));
    await expect(boundaryFeatures(frozen, items, 'avg', { ...opts, cache: cache2, signal: aborted.signal })).rejects.toThrow(/cancelled/);
    const again = await boundaryFeatures(frozen, items, 'avg', { ...opts, cache: cache2 });
    expect(maxAbsDiff(again.data, a.data)).toBeLessThan(1e-6);
    backbone.model.dispose();
  });

  it('holds tensor memory flat across training runs', async () => {
    const backbone = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 64 });
    const cache = new FeatureCache(path.join(tmp, 'cache2'));
    const run = async () => disposeTrained(await trainOnDataset({ manifest, backbone, cache, epochs: 3 }));
    await run();
    const before = tf.memory().numTensors;
    await run();
    await run();
    expect(tf.memory().numTensors).toBe(before);
    backbone.model.dispose();
  });
});
