// Run: cd packages/engine && npx tsx test/model/bench-speed.ts (not part of the test suite).
// Feature extraction img/s at 160 and 224 (cut block_13_expand_relu) and default-head training time
// on 1,260 cached pooled vectors (60 epochs, no early stopping).
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index.ts';
import { loadBackbone } from '../../src/model/backbone.ts';
import { extractFeatures } from '../../src/model/features.ts';
import { buildHead } from '../../src/model/head.ts';
import { trainClassifier } from '../../src/model/train.ts';

/** CPU seconds this process used since `from`: on a shared, overloaded machine a better guide than wall time. */
function cpuSeconds(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1e6;
}

const info = await initBackend();
console.log(`backend ${info.name} (${info.device}), load ${os.loadavg()[0]?.toFixed(1)}`);
for (const size of [160, 224]) {
  const b = await loadBackbone({ inputSize: size, cutAt: 'block_13_expand_relu' });
  const images = Array.from({ length: 48 }, (_, i) => Float32Array.from({ length: size * size * 3 }, (_, j) => (i * 7 + j) % 255));
  await extractFeatures(b.model, images.slice(0, 16), { pool: 'avg' }); // warm-up
  const t = Date.now();
  const cpu0 = process.cpuUsage();
  const f = await extractFeatures(b.model, images, { pool: 'avg', batchSize: 16 });
  const s = (Date.now() - t) / 1000;
  const cpu = cpuSeconds(cpu0);
  console.log(`extract ${size}px → ${f.shape}: ${(images.length / s).toFixed(1)} img/s wall, ${(images.length / cpu).toFixed(1)} img/s per CPU-second`);
  b.model.dispose();
}
const n = 1260;
const d = 576;
const x = Float32Array.from({ length: n * d }, (_, i) => ((i * 2654435761) % 1000) / 1000);
const y = Array.from({ length: n }, (_, i) => i % 6);
for (const optimizer of ['adam', 'sgd'] as const) {
  const head = buildHead({ numClasses: 6, inputShape: [d] });
  const t = Date.now();
  const cpu0 = process.cpuUsage();
  await trainClassifier({ head, train: { x, shape: [d], y }, numClasses: 6, epochs: 60, earlyStopping: false, optimizer });
  console.log(`head ${optimizer}: 60 epochs × ${n} vectors (${d}-d, hidden 128, batch 32): ${Date.now() - t} ms wall, ${cpuSeconds(cpu0).toFixed(2)} s CPU`);
  head.dispose();
}
console.log(`tensors ${tf.memory().numTensors}, load ${os.loadavg()[0]?.toFixed(1)}`);
