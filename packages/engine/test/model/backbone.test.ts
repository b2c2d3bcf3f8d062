import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../src/backend/index.ts';
import { freezeBackbone, loadBackbone } from '../../src/model/backbone.ts';

beforeAll(async () => {
  await initBackend();
});

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] as number);
}

describe('loadBackbone (bundled MobileNetV2)', () => {
  it.each([
    ['block_3_expand_relu', [16, 16, 144]],
    ['block_6_expand_relu', [8, 8, 192]],
    ['block_13_expand_relu', [4, 4, 576]],
    ['out_relu', [2, 2, 1280]],
  ])('cut at %s gives a %j feature map for 64 px input', async (cutAt, shape) => {
    const b = await loadBackbone({ cutAt, inputSize: 64 });
    expect(b.outputShape).toEqual(shape);
    const y = tf.tidy(() => b.model.predict(tf.zeros([2, 64, 64, 3])) as tf.Tensor);
    expect(y.shape).toEqual([2, ...shape]);
    y.dispose();
    expect(b.blockNames.at(-1)).toBe(cutAt);
    expect(b.describe()).toMatch(/nsfwjs/);
    expect(b.signature).toContain(cutAt);
    b.model.dispose();
  });

  it('names the bad field when the cut layer does not exist', async () => {
    await expect(loadBackbone({ cutAt: 'block_99_expand_relu' })).rejects.toThrow(/cutAt "block_99_expand_relu"/);
    await expect(loadBackbone({ inputSize: 8 })).rejects.toThrow(/inputSize/);
  });

  it('scratch has the same architecture with reproducible seeded weights', async () => {
    const a = await loadBackbone({ source: 'scratch', cutAt: 'block_3_expand_relu', inputSize: 64, seed: 7 });
    const b = await loadBackbone({ source: 'scratch', cutAt: 'block_3_expand_relu', inputSize: 64, seed: 7 });
    const p = await loadBackbone({ cutAt: 'block_3_expand_relu', inputSize: 64 });
    const x = tf.randomUniform([1, 64, 64, 3], 0, 255, 'float32', 1);
    const [ya, yb, yp] = [a, b, p].map((m) => m.model.predict(x) as tf.Tensor);
    expect(maxDiff(ya as tf.Tensor, yb as tf.Tensor)).toBe(0);
    expect(maxDiff(ya as tf.Tensor, yp as tf.Tensor)).toBeGreaterThan(1e-3);
    expect(a.signature).not.toBe(p.signature);
    tf.dispose([x, ya, yb, yp]);
    for (const m of [a, b, p]) m.model.dispose();
  });
});

describe('freezeBackbone', () => {
  it('mode all: everything frozen, no trainable part', async () => {
    const b = await loadBackbone({ cutAt: 'block_6_expand_relu', inputSize: 64 });
    const f = await freezeBackbone(b, { mode: 'all' });
    expect(f.trainable).toBeNull();
    expect(f.boundary).toBe('block_6_expand_relu');
    expect(f.boundaryShape).toEqual(b.outputShape);
    b.model.dispose();
  });

  it('upTo splits at the named block; frozen then trainable equals the whole backbone', async () => {
    const b = await loadBackbone({ cutAt: 'block_13_expand_relu', inputSize: 64 });
    const f = await freezeBackbone(b, { mode: 'upTo', upToBlock: 'block_10_expand_relu' });
    expect(f.boundary).toBe('block_10_expand_relu');
    expect(f.trainable).not.toBeNull();
    const x = tf.randomUniform([2, 64, 64, 3], 0, 255, 'float32', 3);
    const whole = b.model.predict(x) as tf.Tensor;
    const split = tf.tidy(() => f.trainable?.predict(f.frozen.predict(x) as tf.Tensor) as tf.Tensor);
    expect(maxDiff(whole, split)).toBeLessThan(1e-4);
    tf.dispose([x, whole, split]);
    f.trainable?.dispose();
    b.model.dispose();
  });

  it('upTo inside a residual block moves to the next single-tensor boundary and says so', async () => {
    const b = await loadBackbone({ cutAt: 'block_13_expand_relu', inputSize: 64 });
    const f = await freezeBackbone(b, { mode: 'upTo', upToBlock: 'block_11_expand_relu' });
    expect(f.boundary).toBe('block_11_add');
    expect(f.notes.join(' ')).toMatch(/block_11_expand_relu/);
    await expect(freezeBackbone(b, { mode: 'upTo', upToBlock: 'nope' })).rejects.toThrow(/upToBlock "nope"/);
    f.trainable?.dispose();
    b.model.dispose();
  });

  it('staged unfreezes the top K blocks and carries the schedule', async () => {
    const b = await loadBackbone({ cutAt: 'block_13_expand_relu', inputSize: 64 });
    const f = await freezeBackbone(b, { mode: 'staged', unfreezeBlocks: 2, headEpochs: 3, fineTuneLrFactor: 0.1 });
    // top two blocks of a backbone cut at block_13_expand_relu: block_12 and (the start of) block_13
    expect(f.boundary).toBe('block_11_add');
    expect(f.staged).toEqual({ headEpochs: 3, fineTuneLrFactor: 0.1 });
    expect(f.describe()).toMatch(/staged/);
    f.trainable?.dispose();
    b.model.dispose();
  });
});

describe('custom backbone from a TF.js layers model folder', () => {
  it('loads model.json + shards with fs and cuts at customLayer', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'df-custom-'));
    const input = tf.input({ shape: [32, 32, 3] });
    const c1 = tf.layers.conv2d({ filters: 4, kernelSize: 3, name: 'c1', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
    const c2 = tf.layers.conv2d({ filters: 6, kernelSize: 3, name: 'c2' }).apply(c1) as tf.SymbolicTensor;
    const m = tf.model({ inputs: input, outputs: c2 });
    await m.save(
      tf.io.withSaveHandler(async (a) => {
        const data = a.weightData as ArrayBuffer;
        await fs.writeFile(path.join(dir, 'w.bin'), new Uint8Array(data));
        await fs.writeFile(
          path.join(dir, 'model.json'),
          JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }] }),
        );
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const b = await loadBackbone({ source: 'custom', modelPath: dir, customLayer: 'c1', preprocessing: 'none' });
    expect(b.inputSize).toBe(32);
    expect(b.outputShape).toEqual([30, 30, 4]);
    const x = tf.randomUniform([1, 32, 32, 3], 0, 1, 'float32', 2);
    const ref = tf.model({ inputs: m.inputs, outputs: m.getLayer('c1').output as tf.SymbolicTensor }).predict(x) as tf.Tensor;
    const got = b.model.predict(x) as tf.Tensor;
    expect(maxDiff(ref, got)).toBeLessThan(1e-5);
    await expect(loadBackbone({ source: 'custom', modelPath: dir, customLayer: 'zz' })).rejects.toThrow(/no layer "zz"/);
    await expect(loadBackbone({ source: 'custom', modelPath: path.join(dir, 'missing') })).rejects.toThrow(/cannot read TF.js model/);
    tf.dispose([x, ref, got]);
    m.dispose();
    b.model.dispose();
    await fs.rm(dir, { recursive: true, force: true });
  });
});
