/**
 * Issue 15 — cluster throughput with 1, 2 and 3 runners: small runs per minute through the real processes (Redis,
 * one web server on PGlite, N runners started from deploy/systemd/defectflow-runner@.service, datasets and run files
 * through an S3-compatible store — s3rver on loopback — as on separate machines).
 *
 *   npx tsx bench/cluster-throughput.ts [--runs 12] [--runners 1,2,3] [--epochs 1]
 *
 * For each N: fresh runners (own DATA_DIR each), one warm-up run per runner (loads the backbone, extracts the tiny
 * dataset's features: not timed), then --runs runs of the tiny pipeline (64 px, 1 epoch, different seeds so each
 * trains) submitted at once; wall time from the first submit to the last final status. The machine has 2 cores:
 * beyond 2 runners the runs share them, so the figure shows the queue's overhead, not a GPU farm's scaling.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer } from '../apps/runner/src/testing/redis-server.ts';
import { generateSampleDataset } from '../packages/engine/src/index.ts';
import { publishDataset } from '../packages/storage/src/index.ts';
import { startTestS3Server } from '../packages/storage/src/testing.ts';
import { type ClusterRunner, startClusterRunner, startClusterWeb } from '../tests/src/cluster.ts';
import type { AppHandle } from '../tests/src/harness.ts';
import { quickGraph } from '../tests/src/reliability.ts';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const RUNS = Number(arg('runs', '12'));
const COUNTS = arg('runners', '1,2,3').split(',').map(Number);
/** Training epochs per run: 1 measures the queue's own overhead (everything else is cached), more is real work. */
const EPOCHS = Number(arg('epochs', '1'));

async function runAll(web: AppHandle, seeds: number[]): Promise<{ ms: number; statuses: string[] }> {
  const t0 = Date.now();
  const ids: string[] = [];
  for (const seed of seeds) {
    const res = await web.trpc<{ ok: boolean; runId: string }>('runs.start', { graph: quickGraph('tiny', { seed, epochs: EPOCHS }) }, 'mutation');
    ids.push(res.runId);
  }
  const statuses = new Map<string, string>();
  while (statuses.size < ids.length) {
    for (const id of ids) {
      if (statuses.has(id)) continue;
      const run = await web.trpc<{ status: string }>('runs.get', { runId: id });
      if (run.status !== 'queued' && run.status !== 'running') statuses.set(id, run.status);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ms: Date.now() - t0, statuses: [...statuses.values()] };
}

const redis = await startRedisServer();
const rows: string[] = [];
let seed = 100;
try {
  for (const n of COUNTS) {
    const varLib = mkdtempSync(join(tmpdir(), 'defectflow-bench-cluster-'));
    const datasets = join(varLib, 'datasets');
    mkdirSync(datasets, { recursive: true });
    await generateSampleDataset(join(datasets, 'tiny'), { perClass: 12, size: 64, seed: 7, classes: ['crazing', 'inclusion', 'scratches'] });
    const s3 = await startTestS3Server();
    await publishDataset(s3.store('bench'), datasets, 'tiny');
    const env = {
      REDIS_URL: redis.url,
      STORAGE_URL: s3.storageUrl('bench'),
      S3_ACCESS_KEY_ID: s3.accessKeyId,
      S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
      S3_REGION: 'us-east-1',
    };
    const web = await startClusterWeb(varLib, { ...env, DATASETS_ROOT: datasets });
    const runners: ClusterRunner[] = [];
    try {
      for (let i = 1; i <= n; i++) runners.push(await startClusterRunner(`bench-${n}-${i}`, varLib, env));
      // Warm-up: one run per runner at once (each takes one: concurrency 1).
      await runAll(web, runners.map(() => seed++));
      const timed = await runAll(web, Array.from({ length: RUNS }, () => seed++));
      const failed = timed.statuses.filter((s) => s !== 'succeeded').length;
      const perMin = (RUNS / timed.ms) * 60_000;
      rows.push(`| ${n} | ${RUNS} × ${EPOCHS} epoch(s) | ${(timed.ms / 1000).toFixed(1)} s | ${perMin.toFixed(1)} | ${failed} | ${loadNow()} |`);
      console.log(rows.at(-1));
    } finally {
      await Promise.all(runners.map((r) => r.kill('SIGTERM')));
      await web.dispose();
      await s3.close();
      rmSync(varLib, { recursive: true, force: true });
    }
  }
} finally {
  await redis.stop();
}

console.log(`\n${machineHeader('Cluster throughput: small runs with 1, 2 and 3 runners (issue 15)')}`);
console.log('| runners | runs | wall time | runs/min | not succeeded | load after |');
console.log('|---|---|---|---|---|---|');
for (const row of rows) console.log(row);
