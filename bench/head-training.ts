/**
 * Target 2 — head training on cached activations: 60 epochs of the default head (dropout 0.2 →
 * dense 128 relu → dropout 0.2 → dense softmax, Adam, batch 32) on 1,260 cached 576-d feature
 * vectors (the default template's train split at block_13_expand_relu, avg-pooled), in ≤ 3 s.
 *
 *   npx tsx bench/head-training.ts [--epochs 60] [--fit-epochs 3] [--reps 2]
 *
 * Rows, all in this one process and run, on the same synthetic features (6 classes, 1,260 train +
 * 270 val, non-negative like ReLU6 averages):
 *  - trainClassifier (the engine's real loop) on its default dense engine: forward + gradients in
 *    ONNX Runtime, Adam in wasm SIMD (OnnxDenseStepper), early stopping off;
 *  - trainClassifier with `denseEngine: 'js'` (DenseStepper: TF.js wasm products, JS Adam), the
 *    fallback where onnxruntime-node does not load;
 *  - the previous DenseStepper (bench/baseline/dense-stepper-before.ts) in the same loop shape;
 *  - a naive tf.LayersModel.fit on the backend, `--fit-epochs` epochs, extrapolated to 60.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../packages/engine/src/backend/index.ts';
import { buildHead } from '../packages/engine/src/model/head.ts';
import type { Stepper } from '../packages/engine/src/model/stepper.ts';
import { computeClassWeights, seededRandom, trainClassifier } from '../packages/engine/src/model/train.ts';
import { DenseStepperBefore } from './baseline/dense-stepper-before.ts';
import { arg, loadNow, machineHeader, median } from './lib/machine.ts';

const EPOCHS = Number(arg('epochs', '60'));
const FIT_EPOCHS = Number(arg('fit-epochs', '3'));
const REPS = Number(arg('reps', '2'));
const D = 576;
const K = 6;
const BATCH = 32;

function dataset(n: number, seed: number): { x: Float32Array; y: number[] } {
  const rand = seededRandom(seed);
  const centers = Array.from({ length: K }, (_, c) => Float32Array.from({ length: D }, (_, j) => Math.max(0, Math.sin(c * 7.1 + j * 0.37) * 2)));
  const x = new Float32Array(n * D);
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % K;
    y.push(c);
    const center = centers[c] as Float32Array;
    for (let j = 0; j < D; j++) x[i * D + j] = Math.max(0, (center[j] as number) + (rand() - 0.5) * 3);
  }
  return { x, y };
}

const train = dataset(1260, 1);
const val = dataset(270, 2);

async function engineLoop(denseEngine: 'auto' | 'js'): Promise<{ ms: number; valAcc: number; engine: string }> {
  const head = buildHead({ numClasses: K, inputShape: [D], seed: 42 });
  const t0 = performance.now();
  const r = await trainClassifier({
    head,
    train: { x: train.x, shape: [D], y: train.y },
    val: { x: val.x, shape: [D], y: val.y },
    numClasses: K,
    epochs: EPOCHS,
    batchSize: BATCH,
    earlyStopping: false,
    denseEngine,
  });
  const ms = performance.now() - t0;
  head.dispose();
  return { ms, valAcc: r.history[r.history.length - 1]?.valAcc ?? 0, engine: r.stepEngine };
}

/** The same loop shape as trainClassifier (shuffle, gather, step, val once per epoch) around any stepper. */
function stepperLoop(stepper: Stepper): { ms: number; valAcc: number } {
  const rand = seededRandom(42);
  const weights = computeClassWeights(train.y, K, 'balanced');
  const n = train.y.length;
  const xb = new Float32Array(BATCH * D);
  const yb = new Int32Array(BATCH);
  const wb = new Float32Array(BATCH);
  let valAcc = 0;
  const t0 = performance.now();
  for (let e = 0; e < EPOCHS; e++) {
    const order = Array.from({ length: n }, (_, i) => i).sort(() => rand() - 0.5);
    for (let s = 0; s < n; s += BATCH) {
      const rows = Math.min(n, s + BATCH) - s;
      for (let r = 0; r < rows; r++) {
        const i = order[s + r] as number;
        xb.set(train.x.subarray(i * D, (i + 1) * D), r * D);
        yb[r] = train.y[i] as number;
        wb[r] = weights[train.y[i] as number] as number;
      }
      stepper.step(xb.subarray(0, rows * D), yb.subarray(0, rows), wb.subarray(0, rows), 1e-3 * 0.5 * (1 + Math.cos((Math.PI * e) / EPOCHS)), rand, 'train');
    }
    const p = stepper.predict(val.x, val.y.length);
    let hits = 0;
    for (let i = 0; i < val.y.length; i++) {
      let arg = 0;
      for (let j = 1; j < K; j++) if ((p[i * K + j] as number) > (p[i * K + arg] as number)) arg = j;
      if (arg === val.y[i]) hits++;
    }
    valAcc = hits / val.y.length;
  }
  return { ms: performance.now() - t0, valAcc };
}

async function naiveFit(): Promise<number> {
  const head = buildHead({ numClasses: K, inputShape: [D], seed: 42 });
  head.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const x = tf.tensor2d(train.x, [train.y.length, D]);
  const y = tf.tensor1d(train.y, 'float32');
  const vx = tf.tensor2d(val.x, [val.y.length, D]);
  const vy = tf.tensor1d(val.y, 'float32');
  const t0 = performance.now();
  await head.fit(x, y, { epochs: FIT_EPOCHS, batchSize: BATCH, validationData: [vx, vy], verbose: 0 });
  const ms = ((performance.now() - t0) / FIT_EPOCHS) * EPOCHS;
  tf.dispose([x, y, vx, vy]);
  head.dispose();
  return ms;
}

const backend = await initBackend();
console.log(machineHeader('Head training on cached activations (target 2: 60 epochs ≤ 3 s)'));
console.log(`- backend: ${backend.name} (${backend.device}); ${EPOCHS} epochs × ${Math.ceil(1260 / BATCH)} steps of batch ${BATCH}, 576-d → 128 → 6 (74k params)\n`);
// Warm-up: kernels compile, sessions build, JIT settles.
const warm = await engineLoop('auto');
await engineLoop('js');
const engine: number[] = [];
const js: number[] = [];
const before: number[] = [];
let accEngine = 0;
let accJs = 0;
let accBefore = 0;
for (let r = 0; r < REPS; r++) {
  // Interleaved so all rows see the same machine load.
  const a = await engineLoop('auto');
  engine.push(a.ms);
  accEngine = a.valAcc;
  const j = await engineLoop('js');
  js.push(j.ms);
  accJs = j.valAcc;
  const h = buildHead({ numClasses: K, inputShape: [D], seed: 42 });
  const b = stepperLoop(new DenseStepperBefore(h, 'adam', K));
  h.dispose();
  before.push(b.ms);
  accBefore = b.valAcc;
}
const fit = FIT_EPOCHS > 0 ? await naiveFit() : Number.NaN;
const steps = EPOCHS * Math.ceil(1260 / BATCH);
const e = median(engine);
const jm = median(js);
const b = median(before);
console.log('| path | 60 epochs (s) | ms / step | final val acc | vs target 3 s |');
console.log('|---|---|---|---|---|');
const verdict = (ms: number) => (ms <= 3000 ? 'meets' : `misses by ${((ms / 3000 - 1) * 100).toFixed(0)} %`);
console.log(`| trainClassifier, default (${warm.engine}: ORT gradients + wasm SIMD Adam) | ${(e / 1000).toFixed(2)} | ${(e / steps).toFixed(2)} | ${accEngine.toFixed(3)} | ${verdict(e)} |`);
console.log(`| trainClassifier, denseEngine 'js' (DenseStepper) | ${(jm / 1000).toFixed(2)} | ${(jm / steps).toFixed(2)} | ${accJs.toFixed(3)} | ${verdict(jm)}; ${(jm / e).toFixed(2)}× slower than default |`);
console.log(`| previous DenseStepper (tensor per op) | ${(b / 1000).toFixed(2)} | ${(b / steps).toFixed(2)} | ${accBefore.toFixed(3)} | ${(b / e).toFixed(2)}× slower than default |`);
if (FIT_EPOCHS > 0) console.log(`| naive model.fit (${FIT_EPOCHS} epochs, ×${EPOCHS / FIT_EPOCHS}) | ${(fit / 1000).toFixed(1)} | ${(fit / steps).toFixed(2)} | – | ${(fit / e).toFixed(1)}× slower than default |`);
console.log(`\nmedian of ${REPS} interleaved reps; load average at end: ${loadNow()}`);
