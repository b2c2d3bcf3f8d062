/**
 * Spatial head training speed (issue 13, item 1: 30 epochs within 3× the dense head's time) on
 * the default template's shapes: 2,520 train views (1,260 images + one augmented copy) and 270 val
 * images of 10×10×576 maps (MobileNetV2 at 160 px cut at block_13_expand_relu), 6 classes, batch 32.
 *
 *   npx tsx bench/spatial-head.ts [--epochs 30] [--autodiff-steps 10]
 *
 * Rows, one process, one run, early stopping off:
 *  - dense head (avg-pooled 576-d vectors → 128 → 6), the engine's default dense path;
 *  - spatial head (1×1 conv 128 → BN → ReLU → max → dense), the default path: the maps projected
 *    onto 128 principal channel directions (fit + projection timed with it), ORT gradients;
 *  - the same spatial head on the full 576 channels (no projection), ORT gradients;
 *  - the same on TF.js autodiff (the fallback without ONNX Runtime), a few steps extrapolated.
 * Also the bytes the training set takes in memory with and without the projection.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../packages/engine/src/backend/index.ts';
import { SPATIAL_PROJECTION_DIMS, fitChannelProjection, projectChannels } from '../packages/engine/src/model/channel-projection.ts';
import { buildHead } from '../packages/engine/src/model/head.ts';
import { AutodiffStepper } from '../packages/engine/src/model/stepper.ts';
import { seededRandom, trainClassifier } from '../packages/engine/src/model/train.ts';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const EPOCHS = Number(arg('epochs', '30'));
const AUTODIFF_STEPS = Number(arg('autodiff-steps', '10'));
const [H, W, C] = [10, 10, 576];
const P = H * W;
const K = 6;
const N_TRAIN = 2520;
const N_VAL = 270;
const BATCH = 32;

/** Non-negative maps (like ReLU6 activations) where class c > 0 lights a few channels at one place. */
function maps(n: number, seed: number): { x: Float32Array; y: number[] } {
  const rand = seededRandom(seed);
  const x = new Float32Array(n * P * C);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i * P * C; j < (i + 1) * P * C; j++) x[j] = rand() < 0.6 ? 0 : rand() * 2;
    const c = i % K;
    y.push(c);
    if (c > 0) {
      const at = Math.floor(rand() * P);
      for (let ch = 0; ch < 8; ch++) x[(i * P + at) * C + c * 40 + ch] = 6;
    }
  }
  return { x, y };
}

function avgPool(x: Float32Array, n: number): Float32Array {
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++)
    for (let p = 0; p < P; p++) for (let ch = 0; ch < C; ch++) out[i * C + ch] = (out[i * C + ch] as number) + (x[(i * P + p) * C + ch] as number) / P;
  return out;
}

await initBackend();
const train = maps(N_TRAIN, 1);
const val = maps(N_VAL, 2);
const common = { numClasses: K, epochs: EPOCHS, batchSize: BATCH, earlyStopping: false, restoreBest: false };
const rows: string[] = [];
const time = async (f: () => Promise<unknown>) => {
  const t = performance.now();
  const r = await f();
  return { ms: performance.now() - t, r };
};

const dense = await time(async () => {
  const head = buildHead({ numClasses: K, inputShape: [C] });
  const r = await trainClassifier({ ...common, head, train: { x: avgPool(train.x, N_TRAIN), shape: [C], y: train.y }, val: { x: avgPool(val.x, N_VAL), shape: [C], y: val.y } });
  head.dispose();
  return r;
});
const denseTrainMs = (dense.r as { durationMs: number }).durationMs;
rows.push(`| dense head on pooled vectors (default dense path) | ${(denseTrainMs / 1000).toFixed(2)} | 1.00 | ${(N_TRAIN * C * 4 / 2 ** 20).toFixed(0)} MiB |`);

const projectedRun = await time(async () => {
  const projection = await fitChannelProjection([{ x: train.x, y: train.y }], P, C, SPATIAL_PROJECTION_DIMS);
  const xr = await projectChannels(train.x, projection);
  const vr = await projectChannels(val.x, projection);
  const head = buildHead({ kind: 'spatial', filters: 128, pooling: 'max', numClasses: K, inputShape: [H, W, C] });
  const shape = [H, W, SPATIAL_PROJECTION_DIMS];
  const r = await trainClassifier({ ...common, head, train: { x: xr, shape, y: train.y }, val: { x: vr, shape, y: val.y }, channelProjection: projection });
  head.dispose();
  return r;
});
const proj = projectedRun.r as { durationMs: number; history: { valAcc: number | null }[] };
rows.push(
  `| spatial head, default: ${SPATIAL_PROJECTION_DIMS} principal channels (fit + projection included) | ${(projectedRun.ms / 1000).toFixed(2)} (training ${(proj.durationMs / 1000).toFixed(2)}) | ${(projectedRun.ms / denseTrainMs).toFixed(2)} | ${(N_TRAIN * P * SPATIAL_PROJECTION_DIMS * 4 / 2 ** 20).toFixed(0)} MiB |`,
);

const full = await time(async () => {
  const head = buildHead({ kind: 'spatial', filters: 128, pooling: 'max', numClasses: K, inputShape: [H, W, C] });
  const r = await trainClassifier({ ...common, head, train: { x: train.x, shape: [H, W, C], y: train.y }, val: { x: val.x, shape: [H, W, C], y: val.y } });
  head.dispose();
  return r;
});
rows.push(`| spatial head on all 576 channels (ORT gradients) | ${(full.ms / 1000).toFixed(2)} | ${(full.ms / denseTrainMs).toFixed(2)} | ${(N_TRAIN * P * C * 4 / 2 ** 20).toFixed(0)} MiB |`);

{
  const head = buildHead({ kind: 'spatial', filters: 128, pooling: 'max', numClasses: K, inputShape: [H, W, C] });
  const stepper = new AutodiffStepper(head, null, 'adam', [H, W, C], K);
  const rand = seededRandom(3);
  const x = train.x.subarray(0, BATCH * P * C);
  const y = Int32Array.from(train.y.slice(0, BATCH));
  const w = new Float32Array(BATCH).fill(1);
  stepper.step(x, y, w, 1e-3, rand, 'train');
  const t = performance.now();
  for (let s = 0; s < AUTODIFF_STEPS; s++) stepper.step(x, y, w, 1e-3, rand, 'train');
  const perStep = (performance.now() - t) / AUTODIFF_STEPS;
  const ms = perStep * Math.ceil(N_TRAIN / BATCH) * EPOCHS;
  rows.push(`| spatial head on all 576 channels, TF.js ${tf.getBackend()} autodiff (fallback; ${AUTODIFF_STEPS} steps extrapolated) | ${(ms / 1000).toFixed(1)} | ${(ms / denseTrainMs).toFixed(1)} | ${(N_TRAIN * P * C * 4 / 2 ** 20).toFixed(0)} MiB |`);
  stepper.dispose();
  head.dispose();
}

console.log(machineHeader(`Spatial head training: ${EPOCHS} epochs × ${Math.ceil(N_TRAIN / BATCH)} steps, ${N_TRAIN} train maps ${H}×${W}×${C}`));
console.log(`- final val acc (spatial, projected): ${proj.history.at(-1)?.valAcc?.toFixed(3)}\n`);
console.log(`| path | ${EPOCHS} epochs (s) | × dense head | training set in memory |`);
console.log('|---|---|---|---|');
for (const r of rows) console.log(r);
console.log(`\nload average at end: ${loadNow()}`);
