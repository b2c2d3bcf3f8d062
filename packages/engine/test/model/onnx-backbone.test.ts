import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { IMAGENET_MEAN, IMAGENET_STD } from '../../src/constants.ts';
import { generateSampleDataset, loadDataset } from '../../src/data/index.ts';
import type { DatasetManifest } from '../../src/data/index.ts';
import { readImagesBatch } from '../../src/data/image-io.ts';
import { FrozenOnlyError, freezeBackbone, loadBackbone } from '../../src/model/backbone.ts';
import { disposeTrained, predictDatasetItems, trainOnDataset } from '../../src/model/classifier.ts';
import { ONNX_FILE, exportModel, loadExportedModel, predictImages } from '../../src/model/export.ts';
import { FeatureCache, extractFeatures } from '../../src/model/features.ts';
import type { HeadSpec } from '../../src/model/head.ts';
import { inspectOnnxBackbone, writeSidecar } from '../../src/model/onnx-backbone.ts';
import { resnetFixtureOnnx } from '../../src/testing.ts';

const SIZE = 64;
let tmp: string;
let file: string;
let manifest: DatasetManifest;

beforeAll(async () => {
  await initBackend();
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'df-onnx-backbone-'));
  file = path.join(tmp, 'backbones', 'resnet-tiny.onnx');
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, resnetFixtureOnnx({ size: SIZE }));
  await generateSampleDataset(path.join(tmp, 'datasets', 'steel'), { perClass: 6, size: 48, seed: 7 });
  manifest = await loadDataset({ root: path.join(tmp, 'datasets'), path: 'steel', valRatio: 0.2, testRatio: 0.2, seed: 1 });
});

afterAll(async () => {
  await fs.rm(tmp, { recursive: true, force: true });
});

describe('ONNX backbone import', () => {
  it('lists the 4-D tensors of the graph as cut points, in graph order, with their shapes', async () => {
    const info = await inspectOnnxBackbone(file);
    expect(info.settings).toMatchObject({ inputSize: SIZE, layout: 'NCHW', normalization: 'imagenet' });
    const labels = info.cutPoints.map((p) => p.label);
    expect(labels).toContain('layer1 → 8×16×16');
    expect(labels).toContain('layer2 → 16×8×8');
    expect(labels.at(-1)).toBe('/avgpool/GlobalAveragePool_output_0 → 32×1×1');
    const names = info.cutPoints.map((p) => p.name);
    expect(names.indexOf('layer1')).toBeLessThan(names.indexOf('layer2'));
    expect(names.indexOf('layer2')).toBeLessThan(names.indexOf('layer3'));
    expect(names).not.toContain('logits'); // 2-D: not a feature map
    expect(info.cutPoints.find((p) => p.name === 'layer3')?.featureShape).toEqual([4, 4, 32]);
    // conv weights + BN (4 per layer) + fc: counted from the initializers.
    expect(info.params).toBeGreaterThan(10_000);
    expect(info.input).toEqual({ name: 'input', elemType: 1, dims: [1, 3, SIZE, SIZE] });
  });

  it('extracts the cut tensor with the ImageNet normalisation and NCHW layout applied, as the original graph computes it', async () => {
    const backbone = await loadBackbone({ source: 'onnx', onnxFile: file, onnx: { cut: 'layer2' } });
    expect(backbone.outputShape).toEqual([8, 8, 16]);
    const frozen = await freezeBackbone(backbone, { mode: 'all' });
    const paths = manifest.items.slice(0, 3).map((i) => i.path);
    const { images } = await readImagesBatch(paths, SIZE);
    const ours = await extractFeatures(frozen.frozen, images.map((im) => im.data), {});
    expect(ours.engine?.name).toBe('onnxruntime');
    expect(ours.shape).toEqual([8, 8, 16]);
    // Reference: the untouched fixture with `layer2` as an extra output, fed (x/255 − mean)/std in NCHW by hand.
    const session = await ort.InferenceSession.create(resnetFixtureOnnx({ size: SIZE, extraOutputs: ['layer2'] }));
    for (const [k, im] of images.entries()) {
      const nchw = new Float32Array(3 * SIZE * SIZE);
      for (let p = 0; p < SIZE * SIZE; p++)
        for (let c = 0; c < 3; c++) nchw[c * SIZE * SIZE + p] = ((im.data[p * 3 + c] as number) / 255 - (IMAGENET_MEAN[c] as number)) / (IMAGENET_STD[c] as number);
      const ref = await referenceAt(session, nchw, 'layer2');
      let maxDiff = 0;
      for (let c = 0; c < 16; c++)
        for (let p = 0; p < 64; p++) maxDiff = Math.max(maxDiff, Math.abs((ref[c * 64 + p] as number) - (ours.data[k * 1024 + p * 16 + c] as number)));
      expect(maxDiff).toBeLessThan(1e-4);
    }
    await session.release();
  });

  it('reads its settings from the sidecar and names the file and field when one is wrong', async () => {
    await writeSidecar(file, { normalization: 'unit', cut: 'layer1' });
    const b = await loadBackbone({ source: 'onnx', onnxFile: file });
    expect(b.cutAt).toBe('layer1');
    expect(b.signature).toContain('|unit');
    await fs.writeFile(`${file}.json`, JSON.stringify({ layout: 'CHW' }));
    await expect(loadBackbone({ source: 'onnx', onnxFile: file })).rejects.toThrow(`${file}.json: layout must be one of NCHW, NHWC`);
    await fs.rm(`${file}.json`);
    await expect(loadBackbone({ source: 'onnx', onnxFile: file, onnx: { cut: 'layer9' } })).rejects.toThrow(/no 4-D feature map named "layer9".*layer3/);
    await expect(loadBackbone({ source: 'onnx', onnxFile: file, onnx: { inputSize: 96 } })).rejects.toThrow(/takes 64×64 images; inputSize 96/);
    // The node's inputSize (default 160) does not override a graph with a fixed input size.
    expect((await loadBackbone({ source: 'onnx', onnxFile: file, inputSize: 160 })).inputSize).toBe(SIZE);
    await expect(loadBackbone({ source: 'onnx', onnxFile: path.join(tmp, 'nope.onnx') })).rejects.toThrow(/nope.onnx: no such file/);
  });

  it('is frozen-only: upTo and staged say so', async () => {
    const b = await loadBackbone({ source: 'onnx', onnxFile: file });
    await expect(freezeBackbone(b, { mode: 'staged' })).rejects.toThrow(FrozenOnlyError);
    await expect(freezeBackbone(b, { mode: 'upTo', upToBlock: 'layer1' })).rejects.toThrow(/frozen-only/);
  });
});

/** The untouched fixture (same weights) with `name` declared as an extra output, on an NCHW input. */
async function referenceAt(session: ort.InferenceSession, nchw: Float32Array, name: string): Promise<Float32Array> {
  const out = await session.run({ input: new ort.Tensor('float32', nchw, [1, 3, SIZE, SIZE]) });
  return out[name]?.data as Float32Array;
}

const heads: { name: string; cut: string; headSpec: HeadSpec }[] = [
  { name: 'dense head', cut: 'layer3', headSpec: { pooling: 'avgmax', hidden: 16, dropout: 0.1 } },
  { name: 'spatial head', cut: 'layer2', headSpec: { kind: 'spatial', filters: 8, pooling: 'avgmax', dropout: 0.1 } },
];

describe('training and deploying on an ONNX backbone', () => {
  for (const c of heads) {
    it(`${c.name}: features cached by file hash, and the deployed model.onnx predicts what evaluation computed (< 1e-4)`, async () => {
      const backbone = await loadBackbone({ source: 'onnx', onnxFile: file, onnx: { cut: c.cut } });
      // The cache key part: file content hash, input size, cut, layout, normalisation.
      expect(backbone.signature).toMatch(/^onnx-[0-9a-f]{16}\|/);
      expect(backbone.signature.split('|').slice(1, 5)).toEqual([String(SIZE), c.cut, 'NCHW', 'imagenet']);
      const cache = new FeatureCache(path.join(tmp, `cache-${c.cut}`));
      const common = { manifest, backbone, headSpec: c.headSpec, epochs: 3, batchSize: 8, cache, seed: 3 };
      const trained = await trainOnDataset(common);
      expect(trained.featureViews.extracted).toBeGreaterThan(0);
      const again = await trainOnDataset(common);
      expect(again.featureViews).toEqual({ cached: trained.featureViews.extracted + trained.featureViews.cached, extracted: 0 });
      disposeTrained(again);
      const testItems = manifest.items.filter((i) => i.split === 'test');
      const evaluated = await predictDatasetItems(trained, testItems, { cache, datasetSignature: manifest.signature });
      const dir = path.join(tmp, 'models', c.cut);
      const exported = await exportModel(trained, dir, { name: `onnx ${c.name}` });
      expect(exported.files).toEqual([ONNX_FILE, 'defectflow.json']);
      expect(exported.meta.runtime).toBe('onnx');
      expect(exported.meta.onnx).toMatchObject({ available: true, input: { dtype: 'uint8', layout: 'NHWC', shape: ['N', SIZE, SIZE, 3] } });
      const predictions = await predictImages(dir, evaluated.items.map((i) => i.path));
      const k = manifest.classes.length;
      let maxDiff = 0;
      predictions.forEach((p, i) => {
        manifest.classes.forEach((cls, j) => {
          maxDiff = Math.max(maxDiff, Math.abs((p.probabilities[cls] as number) - (evaluated.probs[i * k + j] as number)));
        });
      });
      console.log(`onnx backbone export (${c.name}, ${predictions.length} images × ${k} classes): max |p_deployed − p_evaluated| = ${maxDiff.toExponential(2)}`);
      expect(maxDiff).toBeLessThan(1e-4);
      // The file is self-contained: a plain ONNX Runtime session on uint8 pixels gives the same.
      const loaded = await loadExportedModel(dir);
      expect(loaded.model).toBeNull();
      await loaded.onnx?.session.release();
      disposeTrained(trained);
    });
  }
});
