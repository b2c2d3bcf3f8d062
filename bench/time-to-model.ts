/**
 * Targets 3 and 5 — time to a trained model, and the runner's memory over consecutive runs.
 *
 *   npx tsx bench/time-to-model.ts [--datasets /tmp/df-bench/datasets] [--repeats 5] [--staged-epochs 4] [--no-staged]
 *
 * The parent spawns one child Node process (the "runner": it calls execute() from
 * @defectflow/nodes/runtime with the real node run functions, as apps/runner does) and samples its
 * RSS from /proc every 50 ms. In the child, one after another, each timed from execute() to
 * run.finished (evaluated + exported model):
 *  1. cold: the default template (examples/default-pipeline.json) on the 1,800-image sample set,
 *     fresh output cache and fresh feature cache dir;
 *  2. warm: the same graph with only train params changed (lr, epochs), same output cache and
 *     feature cache: dataset/backbone/augment/freeze/head are reused, features come from the cache;
 *  3. staged fine-tune: freeze mode 'staged' (2 blocks unfrozen, 2 head-only epochs), `--staged-epochs`
 *     epochs in all — reported, no target;
 *  4. `--repeats` consecutive default runs (fresh output cache each, shared feature cache: the
 *     steady state of a runner retraining one product line), RSS after each (target 5: flat ±5 %).
 * The sample set is generated once under --datasets if missing (not timed).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATASETS = path.resolve(arg('datasets', '/tmp/df-bench/datasets'));
const REPEATS = Number(arg('repeats', '5'));
const STAGED_EPOCHS = Number(arg('staged-epochs', '4'));
const STAGED = !process.argv.includes('--no-staged');

interface RunRecord {
  label: string;
  ms: number;
  status: string;
  timings: Record<string, number>;
  cached: string[];
  featureLogs: string[];
  accuracy: number | null;
  rssAfter: number;
}

async function child(): Promise<void> {
  const { generateSampleDataset, initBackend } = await import('../packages/engine/src/index.ts');
  const { execute, MemoryOutputCache } = await import('../packages/nodes/src/runtime/index.ts');
  const graph0 = JSON.parse(readFileSync(path.join(ROOT, 'examples/default-pipeline.json'), 'utf8'));
  if (!existsSync(path.join(DATASETS, 'sample-steel'))) await generateSampleDataset(path.join(DATASETS, 'sample-steel'), {});
  const info = await initBackend();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'df-ttm-'));
  const withParams = (type: string, params: Record<string, unknown>) => ({
    ...graph0,
    nodes: graph0.nodes.map((n: { type: string; params: object }) => (n.type === type ? { ...n, params: { ...n.params, ...params } } : n)),
  });
  let n = 0;
  const run = async (label: string, graph: unknown, cache: InstanceType<typeof MemoryOutputCache>): Promise<void> => {
    const runId = `bench-${++n}`;
    const featureLogs: string[] = [];
    let accuracy: number | null = null;
    const t0 = performance.now();
    const r = await execute({
      runId,
      graph: graph as never,
      cache,
      backend: { name: info.name, device: info.device },
      dirs: { dataDir, datasetsRoot: DATASETS, runDir: path.join(dataDir, 'runs', runId), modelsDir: path.join(dataDir, 'models'), cacheDir: path.join(dataDir, 'cache') },
      sink: (e) => {
        if (e.type === 'node.log' && e.message.startsWith('features:')) featureLogs.push(`${e.nodeId}: ${e.message}`);
        if (e.type === 'node.finished' && e.nodeType === 'evaluate') accuracy = (e.summary as { accuracy?: number } | undefined)?.accuracy ?? null;
      },
    });
    const ms = performance.now() - t0;
    const rec: RunRecord = { label, ms, status: r.status, timings: r.timings, cached: r.cached, featureLogs, accuracy, rssAfter: process.memoryUsage().rss };
    process.stdout.write(`${JSON.stringify(rec)}\n`);
  };
  const shared = new MemoryOutputCache();
  await run('cold: default template, fresh caches', graph0, shared);
  await run('warm: only train params changed (lr 0.002, epochs 40)', withParams('train', { learningRate: 0.002, epochs: 40 }), shared);
  if (STAGED) {
    const staged = withParams('freeze', { mode: 'staged', unfreezeBlocks: 2, headEpochs: 2 });
    const g = { ...staged, nodes: staged.nodes.map((nd: { type: string; params: object }) => (nd.type === 'train' ? { ...nd, params: { ...nd.params, epochs: STAGED_EPOCHS } } : nd)) };
    await run(`staged fine-tune: 2 blocks unfrozen, 2 head + ${STAGED_EPOCHS - 2} fine-tune epochs`, g, new MemoryOutputCache());
  }
  for (let i = 1; i <= REPEATS; i++) await run(`repeat ${i}/${REPEATS}: default template, fresh output cache`, graph0, new MemoryOutputCache());
  rmSync(dataDir, { recursive: true, force: true });
}

function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

async function parent(): Promise<void> {
  const header = machineHeader('Time to a trained model (target 3) and runner memory (target 5)');
  const proc = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...process.argv.slice(2)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let peak = 0;
  let peakSinceLast = 0;
  const sampler = setInterval(() => {
    const r = rssOf(proc.pid ?? 0);
    peak = Math.max(peak, r);
    peakSinceLast = Math.max(peakSinceLast, r);
  }, 50);
  const records: (RunRecord & { peak: number })[] = [];
  let buf = '';
  proc.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i = buf.indexOf('\n');
    while (i >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith('{')) {
        const rec = JSON.parse(line) as RunRecord;
        records.push({ ...rec, peak: peakSinceLast });
        peakSinceLast = 0;
        process.stderr.write(`${rec.label}: ${(rec.ms / 1000).toFixed(1)} s ${rec.status}\n`);
      }
      i = buf.indexOf('\n');
    }
  });
  let err = '';
  proc.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const code = await new Promise<number>((r) => proc.on('exit', (c) => r(c ?? 1)));
  clearInterval(sampler);
  if (code !== 0) {
    process.stderr.write(err.split('\n').filter((l) => !l.includes('already registered')).slice(-30).join('\n'));
    throw new Error(`child exited with ${code}`);
  }
  const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;
  console.log(header);
  console.log('| run | wall (s) | target | train node (s) | evaluate (s) | reused nodes | test acc | RSS after | peak RSS during |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of records) {
    const target = r.label.startsWith('cold') ? 20 : r.label.startsWith('warm') ? 5 : null;
    const verdict = target === null ? '–' : r.ms <= target * 1000 ? `≤ ${target} s: meets` : `≤ ${target} s: misses by ${((r.ms / (target * 1000) - 1) * 100).toFixed(0)} %`;
    console.log(
      `| ${r.label} | ${(r.ms / 1000).toFixed(1)} | ${verdict} | ${((r.timings.train ?? 0) / 1000).toFixed(1)} | ${((r.timings.evaluate ?? 0) / 1000).toFixed(1)} | ${r.cached.length ? r.cached.join(', ') : 'none'} | ${r.accuracy === null ? '–' : r.accuracy.toFixed(3)} | ${mib(r.rssAfter)} | ${mib(r.peak)} |`,
    );
  }
  const rep = records.filter((r) => r.label.startsWith('repeat'));
  if (rep.length > 1) {
    const first = rep[0]?.rssAfter ?? 1;
    const worst = Math.max(...rep.map((r) => Math.abs(r.rssAfter / first - 1)));
    console.log(`\nRSS after each repeat: ${rep.map((r) => mib(r.rssAfter)).join(' → ')}; largest drift from the first ${(worst * 100).toFixed(1)} % (target ≤ 5 %: ${worst <= 0.05 ? 'meets' : 'misses'}).`);
  }
  console.log(`Peak RSS of the runner process over all runs: ${mib(peak)} (target ≤ 1.5 GiB: ${peak <= 1.5 * 2 ** 30 ? 'meets' : 'misses'}).`);
  const logs = [...new Set(records.flatMap((r) => r.featureLogs))];
  if (logs.length) console.log(`\nFeature extraction (node.log):\n${logs.map((l) => `- ${l}`).join('\n')}`);
  console.log(`\nload average at end: ${loadNow()}`);
}

if (process.argv.includes('--child')) await child();
else await parent();
