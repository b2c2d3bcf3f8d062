// Run: cd packages/engine && PER=60 SIZES=160,224 npx tsx test/model/bench-cut-blocks.ts (not part of the test suite).
// Frozen-feature accuracy per cut block and input size on the synthetic NEU-like steel data.
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { initBackend } from '../../src/backend/index.ts';
import { loadBackbone } from '../../src/model/backbone.ts';
import { poolFeatureMap } from '../../src/model/features.ts';
import { buildHead } from '../../src/model/head.ts';
import { trainClassifier } from '../../src/model/train.ts';
import { createRng, renderSteelImage, STEEL_DEFECT_CLASSES } from '../../src/data/index.ts';
await initBackend();
const perClass = Number(process.env.PER ?? 60);
const sizes = (process.env.SIZES ?? '160,224').split(',').map(Number);
const pre = (process.env.PRE ?? 'mobilenet_v2') as 'mobilenet_v2' | 'unit';
const cuts = process.env.CUTS ? process.env.CUTS.split(',') : ['block_6_expand_relu', 'block_10_expand_relu', 'block_13_expand_relu', 'block_16_expand_relu', 'out_relu'];
const rng = createRng(7);
const raw: Uint8Array[] = []; const labels: number[] = [];
STEEL_DEFECT_CLASSES.forEach((c, k) => { for (let i = 0; i < perClass; i++) { raw.push(renderSteelImage(c, 200, rng)); labels.push(k); } });
const split = labels.map((_, i) => (i % 5 === 0 ? 'test' : i % 5 === 1 ? 'val' : 'train'));
for (const size of sizes) {
  const imgs: Float32Array[] = [];
  for (const r of raw) {
    const buf = await sharp(Buffer.from(r), { raw: { width: 200, height: 200, channels: 1 } }).resize(size, size, { kernel: 'lanczos3' }).toColourspace('b-w').raw().toBuffer();
    const f = new Float32Array(size * size * 3); for (let p = 0; p < size * size; p++) f[3 * p] = f[3 * p + 1] = f[3 * p + 2] = buf[p]!; imgs.push(f);
  }
  const b = await loadBackbone({ cutAt: 'out_relu', inputSize: size, preprocessing: pre });
  const multi = tf.model({ inputs: b.model.inputs, outputs: cuts.map((c) => b.model.getLayer(c).output as tf.SymbolicTensor) });
  const feats: Float32Array[][] = cuts.map(() => []);
  const t0 = Date.now();
  for (let s = 0; s < imgs.length; s += 16) {
    const outs = tf.tidy(() => {
      const x = tf.stack(imgs.slice(s, s + 16).map((a) => tf.tensor3d(a, [size, size, 3])));
      return (multi.predict(x) as tf.Tensor[]).map((o) => poolFeatureMap(o as tf.Tensor4D, 'avg'));
    });
    outs.forEach((o, ci) => { const d = o.dataSync() as Float32Array; const c = o.shape[1]!; for (let i = 0; i < o.shape[0]!; i++) feats[ci]!.push(d.slice(i * c, (i + 1) * c)); });
    tf.dispose(outs);
  }
  const ms = Date.now() - t0;
  console.log(`size ${size}: full forward to out_relu ${(imgs.length / (ms / 1000)).toFixed(1)} img/s (${imgs.length} imgs, ${ms} ms, load ${(await import('node:os')).loadavg()[0]!.toFixed(1)})`);
  for (let ci = 0; ci < cuts.length; ci++) {
    const f = feats[ci]!; const d = f[0]!.length;
    if (process.env.STD) {
      const mu = new Float64Array(d), sd = new Float64Array(d);
      for (const v of f) for (let j = 0; j < d; j++) mu[j]! += v[j]! / f.length;
      for (const v of f) for (let j = 0; j < d; j++) sd[j]! += (v[j]! - mu[j]!) ** 2 / f.length;
      for (const v of f) for (let j = 0; j < d; j++) v[j] = (v[j]! - mu[j]!) / (Math.sqrt(sd[j]!) + 1e-3);
    }
    const pick = (sp: string) => { const ix = labels.map((_, i) => i).filter((i) => split[i] === sp); const x = new Float32Array(ix.length * d); ix.forEach((i, r) => { x.set(f[i]!, r * d); }); return { x, shape: [d], y: ix.map((i) => labels[i]!) }; };
    const head = buildHead({ numClasses: 6, inputShape: [d], seed: 1 });
    const t = Date.now();
    const r = await trainClassifier({ head, train: pick('train'), val: pick('val'), numClasses: 6, epochs: 60, patience: 10 });
    const te = pick('test');
    const p = tf.tidy(() => (head.predict(tf.tensor2d(te.x, [te.y.length, d])) as tf.Tensor).argMax(1).dataSync());
    const acc = te.y.filter((y, i) => p[i] === y).length / te.y.length;
    console.log(`  ${cuts[ci]} d=${d}: test acc ${(acc * 100).toFixed(1)}%  (val ${(r.history[r.bestEpoch - 1]!.valAcc! * 100).toFixed(1)}%, best ep ${r.bestEpoch}/${r.history.length}, train ${Date.now() - t} ms)`);
    head.dispose();
  }
  b.model.dispose();
}
