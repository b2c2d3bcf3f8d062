/**
 * Target 6 — live events: latency from the runner stamping an event (RunEvent.ts, set when the
 * EventLog appends it, just before the socket broadcast) to a watcher receiving it, p50/p95 with
 * 20 watchers on the same run.
 *
 *   npx tsx bench/live-events.ts [--watchers 20] [--mode real|paced] [--datasets /tmp/df-bench/datasets]
 *
 * The runner server (apps/runner createRunnerServer) runs in this process on a free port; the 20
 * watchers are socket.io-client connections (websocket transport, what the browser bundle uses) in
 * ONE separate Node process, each emitting `subscribe {runId, since: 0}` directly to the runner.
 * Not measured here: the web server's relay hop (apps/web RunnerBridge → browser room), which needs a
 * Next.js production build; and real Chromium pages (20 of them do not fit this 2-core machine
 * alongside training). Clocks: both processes use Date.now() on the same machine.
 *  - mode real (default): the real executor runs the default template (fresh feature cache, so
 *    feature extraction and head training both run while events stream);
 *  - mode paced: a stub executor emits 600 train.batch-like events at 200/s (transport only).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const WATCHERS = Number(arg('watchers', '20'));
const MODE = arg('mode', 'real');
const DATASETS = path.resolve(arg('datasets', '/tmp/df-bench/datasets'));
const ROOT = fileURLToPath(new URL('../', import.meta.url));

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** Child: WATCHERS sockets subscribe to one run, record now − ts per event, print JSON at run.finished. */
async function watchers(url: string, token: string, runId: string): Promise<void> {
  const { io } = await import('socket.io-client');
  const latencies: number[][] = [];
  let finished = 0;
  await Promise.all(
    Array.from({ length: WATCHERS }, (_, w) => {
      latencies[w] = [];
      const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
      socket.on('run:event', (e: { ts: number; type: string }) => {
        latencies[w]?.push(Date.now() - e.ts);
        if (e.type === 'run.finished') {
          finished++;
          socket.close();
          if (finished === WATCHERS) {
            process.stdout.write(`${JSON.stringify({ latencies })}\n`);
            process.exit(0);
          }
        }
      });
      return new Promise<void>((resolve, reject) => {
        socket.on('connect_error', reject);
        socket.on('connect', () => socket.emit('subscribe', { runId, since: 0 }, () => resolve()));
      });
    }),
  );
  process.stdout.write('ready\n');
}

async function main(): Promise<void> {
  const header = machineHeader(`Live events (target 6: p95 emit → receive < 100 ms, ${WATCHERS} watchers)`);
  const { createRunnerServer } = await import('../apps/runner/src/index.ts');
  const { createRunnerClient } = await import('../apps/runner/src/client.ts');
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'df-live-'));
  const token = 'bench-token-0123456789abcdef';
  const paced = async (opts: { runId: string; sink: (e: never) => void }) => {
    const sink = opts.sink as (e: unknown) => void;
    sink({ type: 'run.started', graphNodes: 0, backend: 'stub', device: 'stub' });
    for (let i = 0; i < 600; i++) {
      sink({ type: 'train.batch', nodeId: 'train', epoch: 1 + Math.floor(i / 40), batch: (i % 40) + 1, batches: 40, loss: 1 / (i + 1) });
      await new Promise((r) => setTimeout(r, 5));
    }
    sink({ type: 'run.finished', status: 'succeeded', durationMs: 3000 });
    return { status: 'succeeded', outputs: {}, summaries: {}, timings: {}, cached: [] };
  };
  const server = await createRunnerServer({
    port: 0,
    host: '127.0.0.1',
    token,
    dataDir,
    datasetsRoot: DATASETS,
    ...(MODE === 'paced' ? { executeFn: paced as never, backend: { name: 'stub', device: 'stub', reasons: [] } as never } : {}),
  });
  const runId = `bench-live-${Date.now().toString(36)}`;
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--watch', server.url, token, runId, ...process.argv.slice(2)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const ready = new Promise<void>((resolve) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) resolve();
    });
  });
  const done = new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)));
  await ready;
  const client = createRunnerClient({ url: server.url, token });
  const graph = JSON.parse(readFileSync(path.join(ROOT, 'examples/default-pipeline.json'), 'utf8'));
  const t0 = performance.now();
  const started = await client.trpc.runs.start.mutate({ runId, graph });
  if (!started.accepted) throw new Error(`run not accepted: ${JSON.stringify(started.errors)}`);
  const code = await done;
  const wall = performance.now() - t0;
  client.socket.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
  if (code !== 0) throw new Error(`watchers exited with ${code}`);
  const line = out.split('\n').find((l) => l.startsWith('{'));
  const { latencies } = JSON.parse(line ?? '{"latencies":[]}') as { latencies: number[][] };
  const all = latencies.flat().sort((a, b) => a - b);
  const perWatcher = latencies.map((l) => l.length);
  console.log(header);
  console.log(`- mode: ${MODE} (${MODE === 'real' ? 'real executor, default template, fresh feature cache' : 'stub executor, 600 events at 200/s'}); run wall ${(wall / 1000).toFixed(1)} s`);
  console.log(`- watchers: ${WATCHERS} socket.io-client connections in one separate Node process, subscribed to the runner directly (no web relay hop, no Chromium)`);
  console.log(`- events per watcher: ${Math.min(...perWatcher)}–${Math.max(...perWatcher)}; deliveries measured: ${all.length}\n`);
  console.log('| p50 | p95 | p99 | max | target p95 < 100 ms |');
  console.log('|---|---|---|---|---|');
  const p95 = pct(all, 95);
  console.log(`| ${pct(all, 50)} ms | ${p95} ms | ${pct(all, 99)} ms | ${all[all.length - 1]} ms | ${p95 < 100 ? 'meets' : `misses by ${p95 - 100} ms`} |`);
  console.log(`\nload average at end: ${loadNow()}`);
  process.exit(0);
}

const w = process.argv.indexOf('--watch');
if (w >= 0) await watchers(process.argv[w + 1] as string, process.argv[w + 2] as string, process.argv[w + 3] as string);
else await main();
