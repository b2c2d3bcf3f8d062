/**
 * A runner on its own (as on a GPU machine, RUNNER_URL set) keeps training while the web server dies and
 * comes back: after the restart the database holds exactly the events the runner wrote, nothing lost or doubled.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppHandle, REPO_ROOT, createTinyDataset, freePort, startApp } from '../src/harness.ts';

const TOKEN = 'restart-test-token-0123456789';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function startRunner(port: number, dataDir: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'apps/runner/src/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      RUNNER_PORT: String(port),
      RUNNER_HOST: '127.0.0.1',
      RUNNER_TOKEN: TOKEN,
      DATA_DIR: dataDir,
      DATASETS_ROOT: join(dataDir, 'datasets'),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runner did not start:\n${output}`)), 90_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('runner listening on')) {
        clearTimeout(timer);
        resolve(proc);
      }
    };
    proc.stdout?.on('data', onData);
    proc.stderr?.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`runner exited with ${code}:\n${output}`)));
  });
}

describe('web server restart while a remote runner trains', () => {
  let dataDir: string;
  let runner: ChildProcess;
  let app: AppHandle;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'defectflow-restart-'));
    const runnerPort = await freePort();
    runner = await startRunner(runnerPort, dataDir);
    app = await startApp({ dataDir, env: { RUNNER_URL: `http://127.0.0.1:${runnerPort}`, RUNNER_TOKEN: TOKEN } });
  });

  afterAll(async () => {
    await app?.stop();
    runner?.kill('SIGTERM');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('stores exactly the events the runner wrote, including those emitted while the web server was down', async () => {
    await app.waitForRunner();
    const dataset = await createTinyDataset(app, 'tiny-restart', 12);
    const template = (await app.trpc<{ id: string; name: string }[]>('templates.list')).find(
      (t) => t.name === 'Default transfer (MobileNetV2)',
    )!;
    const { latest } = await app.trpc<{ latest: { graph: PipelineGraph } }>('templates.get', { id: template.id });
    const small: Record<string, Record<string, unknown>> = {
      dataset: { path: dataset },
      backbone: { inputSize: 64, cutAt: 'block_6_expand_relu' },
      train: { epochs: 400, batchSize: 4, earlyStopping: false },
    };
    const graph: PipelineGraph = {
      ...latest.graph,
      nodes: latest.graph.nodes.map((n) => ({ ...n, params: { ...n.params, ...small[n.type] } })),
    };
    const started = await app.trpc<{ ok: boolean; runId: string }>('runs.start', { graph }, 'mutation');
    expect(started.ok).toBe(true);

    // The web server crashes right after starting the run; the runner carries on alone.
    await app.kill();
    const logFile = join(dataDir, 'runs', started.runId, 'events.jsonl');
    const readLog = () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as RunEvent);
    const atKill = existsSync(logFile) ? readLog().length : 0;
    await sleep(3000);
    // Precondition: the runner really emitted events while no web server was listening.
    expect(readLog().length).toBeGreaterThan(atKill);
    await app.restart();
    await app.waitForRunner();

    let run: { status: string; lastSeq: number } | undefined;
    for (let i = 0; i < 600; i++) {
      run = await app.trpc('runs.get', { runId: started.runId });
      const logged = readLog();
      if (logged.at(-1)?.type === 'run.finished' && run?.lastSeq === logged.at(-1)?.seq) break;
      await sleep(250);
    }
    const logged = readLog();
    expect(logged.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    expect(run?.status).toBe('succeeded');
    const stored = await app.trpc<RunEvent[]>('runs.events', { runId: started.runId, since: 0 });
    expect(stored).toEqual(logged);
    expect(stored.map((e) => e.seq)).toEqual(logged.map((_, i) => i + 1));
  });
});
