import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import { NodeError, type NodeRunFn } from '@defectflow/nodes/runtime';
import { createRunnerClient, type RunnerClient } from '../src/client.ts';
import { createRunnerServer, type RunnerServer, type RunnerServerOptions } from '../src/server.ts';

export const TOKEN = 'test-token-0123456789abcdef';

export function tempDir(prefix = 'defectflow-runner-'): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface StubGraphOptions {
  /** Stub train node: one train.epoch per epoch. */
  epochs?: number;
  /** Changes the train node's cache key so a run is not answered from the shared output cache. */
  seed?: number;
  /**
   * dataset.path: 'broken' makes the stub dataset node fail; 'crash-async' throws outside the executor;
   * 'hang' never returns, whatever its signal says.
   */
  datasetPath?: string;
}

/** A minimal valid pipeline: dataset → train ← head ← backbone. */
export function stubGraph(opts: StubGraphOptions = {}): PipelineGraph {
  const node = (id: string, type: string, params: Record<string, unknown> = {}) => ({
    id,
    type,
    params,
    position: { x: 0, y: 0 },
  });
  return {
    version: 1,
    nodes: [
      node('data', 'dataset', { path: opts.datasetPath ?? 'sample-steel' }),
      node('bb', 'backbone'),
      node('head', 'head'),
      node('train', 'train', { epochs: opts.epochs ?? 3, seed: opts.seed ?? 1 }),
    ],
    edges: [
      { id: 'e1', source: 'bb', sourceHandle: 'backbone', target: 'head', targetHandle: 'backbone' },
      { id: 'e2', source: 'data', sourceHandle: 'dataset', target: 'train', targetHandle: 'dataset' },
      { id: 'e3', source: 'head', sourceHandle: 'model', target: 'train', targetHandle: 'model' },
    ],
  };
}

/**
 * Stub node functions with small delays: fast and deterministic, honouring ctx.signal like real nodes.
 * dataset.path 'broken' → NodeError; 'crash-async' → an exception thrown outside any try/catch;
 * 'hang' → never returns (a node stuck in native code).
 */
export function stubRunFns(epochDelayMs = 20): Record<string, NodeRunFn> {
  return {
    dataset: async (_inputs, params, ctx) => {
      await sleep(5, undefined, { signal: ctx.signal });
      if (params.path === 'broken') throw new NodeError('dataset_not_found', `dataset folder "${params.path}" not found`);
      if (params.path === 'hang') await new Promise(() => {});
      if (params.path === 'crash-async') {
        setTimeout(() => {
          throw new Error('stub crash outside the executor');
        }, 10);
        await sleep(60_000, undefined, { signal: ctx.signal });
      }
      return { outputs: { dataset: { path: params.path } }, summary: { items: 12 } };
    },
    backbone: async (_inputs, _params, ctx) => {
      await sleep(5, undefined, { signal: ctx.signal });
      return { outputs: { backbone: { name: 'stub' } }, summary: { layers: 3 } };
    },
    head: async () => ({ outputs: { model: { name: 'stub-model' } }, summary: {} }),
    train: async (_inputs, params, ctx) => {
      const epochs = Number(params.epochs);
      for (let epoch = 1; epoch <= epochs; epoch++) {
        await sleep(epochDelayMs, undefined, { signal: ctx.signal });
        ctx.emit({
          type: 'train.epoch',
          nodeId: ctx.nodeId,
          epoch,
          epochs,
          loss: 1 / epoch,
          acc: 1 - 1 / (epoch + 1),
          valLoss: null,
          valAcc: null,
          lr: 0.001,
        });
      }
      return { outputs: { trained: { epochs } }, summary: { epochs } };
    },
  };
}

export async function startStubServer(
  dataDir: string,
  overrides: Partial<RunnerServerOptions> = {},
): Promise<RunnerServer> {
  return createRunnerServer({
    port: 0,
    host: '127.0.0.1',
    token: TOKEN,
    dataDir,
    datasetsRoot: path.join(dataDir, 'datasets'),
    concurrency: 1,
    runFns: stubRunFns(),
    backend: { name: 'stub', device: 'test' },
    log: () => {},
    ...overrides,
  });
}

export function client(url: string, token = TOKEN): RunnerClient {
  return createRunnerClient({ url, token });
}

/** Collects a run's events through subscribe() until run.finished. */
export function collectRun(c: RunnerClient, runId: string, since = 0): Promise<RunEvent[]> {
  return new Promise((resolve) => {
    const events: RunEvent[] = [];
    const off = c.subscribe(runId, since, (event) => {
      events.push(event);
      if (event.type === 'run.finished') {
        off();
        resolve(events);
      }
    });
  });
}

export async function waitFor<T>(check: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

export function finishedStatus(events: RunEvent[]): string | undefined {
  const last = events[events.length - 1];
  return last?.type === 'run.finished' ? last.status : undefined;
}

export interface RunnerChild {
  child: ChildProcess;
  url: Promise<string>;
  output(): string;
  exited: Promise<number | null>;
}

/** Spawns a runner process (node + tsx loader, so signals reach it directly) and waits for its URL. */
export function spawnRunner(entry: string, env: Record<string, string>): RunnerChild {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: path.resolve(import.meta.dirname, '..'),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = output.match(/runner listening on (https?:\/\/\S+)/);
      if (match?.[1]) resolve(match[1]);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`runner exited with ${code} before listening:\n${output}`)));
  });
  url.catch(() => {});
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, url, output: () => output, exited };
}
