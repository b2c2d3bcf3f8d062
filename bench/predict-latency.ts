/**
 * Prediction latency through the whole path, browser-less: HTTP prediction API → web server (no TF.js) → the
 * embedded runner's tRPC → its prediction worker → answer (and the prediction log row). The real production web
 * server (built .next, tests/src/harness.ts) trains one small model first (MobileNetV2 cut at block_13_expand_relu,
 * --input-size px, the tiny synthetic dataset), then sends one 200×200 PNG per request, sequentially.
 *
 *   npx tsx bench/predict-latency.ts [--requests 100] [--warmup 10] [--input-size 160] [--cluster]
 *
 * --cluster: the same through cluster mode — web server with REDIS_URL, one runner from its systemd unit, model and
 * dataset through an S3-compatible store (s3rver): the prediction is a df-predict job the runner answers.
 *
 * Prints a Markdown section for docs/BENCHMARKS.md (target: p95 < 200 ms on CPU).
 */
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { tinyTransferGraph } from '../tests/src/graphs.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer } from '../apps/runner/src/testing/redis-server.ts';
import { publishDataset } from '../packages/storage/src/index.ts';
import { startTestS3Server } from '../packages/storage/src/testing.ts';
import { startClusterRunner, startClusterWeb } from '../tests/src/cluster.ts';
import { type AppHandle, createTinyDataset, startApp } from '../tests/src/harness.ts';
import { waitForRunEnd } from '../tests/src/reliability.ts';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const requests = Number(arg('requests', '100'));
const warmup = Number(arg('warmup', '10'));
const inputSize = Number(arg('input-size', '160'));

function percentile(xs: number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

const CLUSTER = process.argv.includes('--cluster');
const benchEnv = { PREDICT_RATE_PER_MIN: '100000', PREDICTION_SAMPLE_RATE: '0' };
const cleanup: Array<() => Promise<unknown>> = [];
let app: AppHandle;
let publish = async (_name: string) => {};
if (CLUSTER) {
  const varLib = mkdtempSync(join(tmpdir(), 'defectflow-bench-latency-'));
  const [redis, s3] = await Promise.all([startRedisServer(), startTestS3Server()]);
  cleanup.push(() => redis.stop(), () => s3.close(), async () => rmSync(varLib, { recursive: true, force: true }));
  const env = { REDIS_URL: redis.url, STORAGE_URL: s3.storageUrl('latency'), S3_ACCESS_KEY_ID: s3.accessKeyId, S3_SECRET_ACCESS_KEY: s3.secretAccessKey, S3_REGION: 'us-east-1' };
  app = await startClusterWeb(varLib, { ...env, ...benchEnv });
  const runner = await startClusterRunner('latency-1', varLib, env);
  cleanup.unshift(() => runner.kill('SIGTERM'));
  publish = async (name) => void (await publishDataset(s3.store('latency'), app.datasetsRoot, name));
} else {
  app = await startApp({ env: benchEnv });
}
try {
  await app.waitForRunner();
  const dataset = await createTinyDataset(app, 'latency-tiny', 12);
  await publish(dataset);
  const graph = tinyTransferGraph({
    dataset: { path: dataset, valRatio: 0.2, testRatio: 0.2, seed: 1 },
    head: { hidden: 16 },
    train: { epochs: 2, batchSize: 8, earlyStopping: false, seed: 1 },
    deploy: { name: 'latency model', gateMetric: 'none' },
  });
  const backbone = graph.nodes.find((n) => n.id === 'backbone');
  if (backbone) backbone.params = { ...backbone.params, inputSize, cutAt: 'block_13_expand_relu' };
  const trainStart = performance.now();
  const started = await app.trpc<{ ok: boolean; runId: string }>('runs.start', { graph }, 'mutation');
  const run = await waitForRunEnd(app, started.runId, 600_000);
  if (run.status !== 'succeeded') throw new Error(`training run ended ${run.status}`);
  const trainS = (performance.now() - trainStart) / 1000;
  const [model] = await app.trpc<{ id: string }[]>('models.list', {});
  if (!model) throw new Error('no model deployed');

  const image = await sharp(randomBytes(200 * 200 * 3), { raw: { width: 200, height: 200, channels: 3 } }).png().toBuffer();
  const once = async () => {
    const t0 = performance.now();
    const res = await fetch(`${app.url}/api/v1/models/${encodeURIComponent(model.id)}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(image),
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`predict answered ${res.status}`);
    return performance.now() - t0;
  };
  for (let i = 0; i < warmup; i++) await once();
  const loadBefore = loadNow();
  const times: number[] = [];
  for (let i = 0; i < requests; i++) times.push(await once());
  const p50 = percentile(times, 50);
  const p95 = percentile(times, 95);
  console.log(machineHeader(`Prediction latency through web → runner${CLUSTER ? ', cluster mode' : ''} (issue 15)`));
  console.log(
    `Model: MobileNetV2 cut at block_13_expand_relu, ${inputSize} px, dense head, trained in ${trainS.toFixed(0)} s (tiny synthetic dataset).`,
  );
  const hop = CLUSTER ? 'df-predict job on Redis (BullMQ) → runner' : 'runner tRPC';
  console.log(`Path: POST /api/v1/models/<id>/predict (raw 200×200 PNG, ${image.length} bytes) → web (no TF.js) → ${hop} → prediction worker; prediction log row written.`);
  console.log(`${requests} sequential requests after ${warmup} warm-up; load average before: ${loadBefore}, after: ${loadNow()}.`);
  console.log('');
  console.log('| requests | p50 | p95 | max | target p95 |');
  console.log('|---:|---:|---:|---:|---:|');
  console.log(`| ${requests} | ${p50.toFixed(1)} ms | ${p95.toFixed(1)} ms | ${Math.max(...times).toFixed(1)} ms | < 200 ms: ${p95 < 200 ? 'met' : 'missed'} |`);
} finally {
  await app.dispose();
  for (const step of cleanup) await step();
}
