import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MemoryOutputCache } from '../src/runtime/cache.ts';
import { execute } from '../src/runtime/executor.ts';
import { NodeError, type NodeRunFn } from '../src/runtime/types.ts';
import { GraphBuilder, pipeline } from './helpers/graph-builder.ts';
import { recorder, stubRunFns, testDirs } from './helpers/stub-nodes.ts';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled.length = 0;
  process.on('unhandledRejection', onUnhandled);
});
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

/** Lets pending timers and microtasks (late rejections) run before asserting on unhandled rejections. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 30));

describe('execute: ordering and inputs', () => {
  it('runs every node after its inputs and frames the run with run.started / run.finished', async () => {
    const graph = pipeline();
    const rec = recorder();
    const stubs = stubRunFns();
    const result = await execute({ runId: 'r1', graph, sink: rec.sink, dirs: testDirs }, stubs.fns);

    expect(result.status).toBe('succeeded');
    expect(rec.events[0]).toEqual({ type: 'run.started', backend: 'unknown', device: 'cpu' });
    expect(rec.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'succeeded' });
    const order = rec.of('node.started').map((e) => e.nodeId);
    expect(order).toHaveLength(8);
    for (const edge of graph.edges) expect(order.indexOf(edge.source)).toBeLessThan(order.indexOf(edge.target));
    expect(stubs.ran()).toEqual(order);
    expect(rec.of('node.finished').map((e) => e.nodeId)).toEqual(order);
    expect(Object.keys(result.outputs).sort()).toEqual([...order].sort());
    expect(result.cached).toEqual([]);
  });

  it('runs one node at a time', async () => {
    let active = 0;
    let maxActive = 0;
    const slow: NodeRunFn = async (_inputs, _params, ctx) => {
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise((r) => setTimeout(r, 2));
      active--;
      return { outputs: { dataset: ctx.nodeId, backbone: ctx.nodeId, model: 1, trained: 1, metrics: 1, deployment: 1 } };
    };
    const stubs = stubRunFns(Object.fromEntries(['dataset', 'backbone', 'augment', 'freeze'].map((t) => [t, slow])));
    await execute({ runId: 'r', graph: pipeline(), sink: () => {}, dirs: testDirs }, stubs.fns);
    expect(maxActive).toBe(1);
  });

  it('passes inputs by port name, params with defaults applied, and a context for the node', async () => {
    const rec = recorder();
    const stubs = stubRunFns();
    await execute(
      { runId: 'r1', graph: pipeline({ train: { epochs: 3 } }), sink: rec.sink, dirs: testDirs, backend: { name: 'tensorflow', device: 'gpu' } },
      stubs.fns,
    );
    const call = (id: string) => stubs.calls.find((c) => c.nodeId === id);
    expect(call('train')?.inputs).toEqual({ dataset: { port: 'dataset', from: 'augment' }, model: { port: 'model', from: 'head' } });
    // evaluate scores the original images, not the augmented ones.
    expect(call('evaluate')?.inputs).toEqual({ trained: { port: 'trained', from: 'train' }, dataset: { port: 'dataset', from: 'dataset' } });
    expect(call('train')?.params).toMatchObject({ epochs: 3, batchSize: 32, optimizer: 'adam', learningRate: 0.001 });
    expect(call('dataset')?.params).toMatchObject({ path: 'sample-steel', valRatio: 0.15 });
    const ctx = call('train')?.ctx;
    expect(ctx?.runId).toBe('r1');
    expect(ctx?.dirs).toEqual(testDirs);
    expect(ctx?.cacheKey).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.events[0]).toEqual({ type: 'run.started', backend: 'tensorflow', device: 'gpu' });
    expect(rec.of('node.progress').find((e) => e.nodeId === 'train')).toEqual({
      type: 'node.progress',
      nodeId: 'train',
      phase: 'work',
      done: 1,
      total: 1,
    });
  });

  it('throttles progress: each phase\'s first and last report, at most PROGRESS_EVENTS_PER_SECOND in between', async () => {
    const rec = recorder();
    const stubs = stubRunFns({
      train: async (_i, _p, ctx) => {
        // 100,000 reports in a tight loop (a dataset check's per-image progress), then a second phase.
        for (let i = 1; i <= 100_000; i++) ctx.progress('check', i, 100_000);
        for (let i = 1; i <= 10; i++) ctx.progress('features', i, 10);
        return { outputs: { trained: {} } };
      },
    });
    await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs }, stubs.fns);
    const check = rec.of('node.progress').filter((e) => e.nodeId === 'train' && e.phase === 'check');
    expect(check[0]?.done).toBe(1);
    expect(check.at(-1)?.done).toBe(100_000);
    // The loop takes well under a few seconds: a handful of events, not 100,000.
    expect(check.length).toBeLessThan(30);
    const features = rec.of('node.progress').filter((e) => e.nodeId === 'train' && e.phase === 'features');
    expect(features.map((e) => e.done)).toEqual([1, 10]);
  });

  it('ctx.emit stamps the node id and refuses run-level events', async () => {
    const rec = recorder();
    const stubs = stubRunFns({
      train: async (_i, _p, ctx) => {
        ctx.emit({ type: 'train.epoch', nodeId: 'someone-else', epoch: 1, epochs: 2, loss: 0.5, acc: 0.8, valLoss: null, valAcc: null, lr: 0.001 });
        ctx.emit({ type: 'run.finished', status: 'succeeded', durationMs: 0 });
        ctx.log('info', 'hello');
        return { outputs: { trained: 't' } };
      },
    });
    const result = await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs }, stubs.fns);
    expect(result.status).toBe('succeeded');
    expect(rec.of('train.epoch')).toEqual([expect.objectContaining({ nodeId: 'train', epoch: 1 })]);
    expect(rec.of('run.finished')).toHaveLength(1);
    expect(rec.of('node.log')).toContainEqual({ type: 'node.log', nodeId: 'train', level: 'info', message: 'hello' });
  });
});

describe('execute: caching', () => {
  it('reuses every node on an identical second run and re-runs only what a param change affects', async () => {
    const cache = new MemoryOutputCache();
    const first = stubRunFns();
    const r1 = await execute({ runId: 'a', graph: pipeline(), sink: () => {}, dirs: testDirs, cache }, first.fns);
    expect(r1.cached).toEqual([]);
    expect(first.ran()).toHaveLength(8);

    const second = stubRunFns();
    const rec2 = recorder();
    const r2 = await execute({ runId: 'b', graph: pipeline(), sink: rec2.sink, dirs: testDirs, cache }, second.fns);
    expect(r2.status).toBe('succeeded');
    expect(second.ran()).toEqual([]);
    expect(r2.cached.sort()).toEqual(['augment', 'backbone', 'dataset', 'deploy', 'evaluate', 'freeze', 'head', 'train']);
    expect(rec2.of('node.cached')).toHaveLength(8);
    expect(rec2.of('node.cached')[0]?.summary).toEqual({ type: 'dataset' });
    // Each reused node names the run and node that computed it: the rerun's report reads its files there.
    expect(rec2.of('node.cached').find((e) => e.nodeId === 'evaluate')?.from).toEqual({ runId: 'a', nodeId: 'evaluate' });
    // Every cached node was first announced as started.
    expect(rec2.of('node.started')).toHaveLength(8);
    expect(r2.outputs.train).toEqual(r1.outputs.train);

    const third = stubRunFns();
    const r3 = await execute(
      { runId: 'c', graph: pipeline({ augment: { copies: 3 } }), sink: () => {}, dirs: testDirs, cache },
      third.fns,
    );
    expect(r3.cached.sort()).toEqual(['backbone', 'dataset', 'freeze', 'head']);
    expect(third.ran()).toEqual(['augment', 'train', 'evaluate', 'deploy']);
  });

  it('treats omitted params and spelled-out defaults as the same node', async () => {
    const cache = new MemoryOutputCache();
    await execute({ runId: 'a', graph: pipeline(), sink: () => {}, dirs: testDirs, cache }, stubRunFns().fns);
    const again = stubRunFns();
    const r = await execute(
      { runId: 'b', graph: pipeline({ train: { epochs: 30, seed: 42 }, dataset: { path: 'sample-steel' } }), sink: () => {}, dirs: testDirs, cache },
      again.fns,
    );
    expect(again.ran()).toEqual([]);
    expect(r.cached).toHaveLength(8);
  });

  it('gives a different cache key when an upstream node changes', async () => {
    const keys = async (graph: ReturnType<typeof pipeline>) => {
      const stubs = stubRunFns();
      await execute({ runId: 'k', graph, sink: () => {}, dirs: testDirs }, stubs.fns);
      return Object.fromEntries(stubs.calls.map((c) => [c.nodeId, c.ctx.cacheKey]));
    };
    const base = await keys(pipeline());
    const changed = await keys(pipeline({ backbone: { inputSize: 96 } }));
    expect(changed.dataset).toBe(base.dataset);
    expect(changed.augment).toBe(base.augment);
    expect(changed.backbone).not.toBe(base.backbone);
    expect(changed.head).not.toBe(base.head);
    expect(changed.deploy).not.toBe(base.deploy);
  });
});

describe('execute: cancellation', () => {
  it('ends as cancelled when aborted mid-run; later nodes never start', async () => {
    const controller = new AbortController();
    const rec = recorder();
    const stubs = stubRunFns({
      // Honours the signal: rejects with an AbortError once aborted.
      train: (_i, _p, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
          queueMicrotask(() => controller.abort());
        }),
    });
    const result = await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs, signal: controller.signal }, stubs.fns);
    await settle();
    expect(result.status).toBe('cancelled');
    expect(rec.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'cancelled' });
    const started = rec.of('node.started').map((e) => e.nodeId);
    expect(started).toContain('train');
    expect(started).not.toContain('evaluate');
    expect(started).not.toContain('deploy');
    expect(rec.of('node.failed')).toEqual([]);
    expect(unhandled).toEqual([]);
  });

  it('does not wait for a node that ignores the signal, and swallows its late rejection and events', async () => {
    const controller = new AbortController();
    const rec = recorder();
    const stubs = stubRunFns({
      train: (_i, _p, ctx) =>
        new Promise((_resolve, reject) => {
          queueMicrotask(() => controller.abort());
          setTimeout(() => {
            ctx.progress('late', 1, 1);
            reject(new Error('late failure after cancel'));
          }, 10);
        }),
    });
    const result = await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs, signal: controller.signal }, stubs.fns);
    expect(result.status).toBe('cancelled');
    const countAtFinish = rec.events.length;
    await settle();
    expect(rec.events.length).toBe(countAtFinish);
    expect(rec.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'cancelled' });
    expect(unhandled).toEqual([]);
  });

  it('cancels before running anything when the signal is already aborted', async () => {
    const rec = recorder();
    const stubs = stubRunFns();
    const result = await execute(
      { runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs, signal: AbortSignal.abort() },
      stubs.fns,
    );
    expect(result.status).toBe('cancelled');
    expect(stubs.ran()).toEqual([]);
    expect(rec.events.map((e) => e.type)).toEqual(['run.started', 'run.finished']);
  });
});

describe('execute: failures', () => {
  it('turns a NodeError into node.failed with its code, skips the rest, and rejects nothing', async () => {
    const rec = recorder();
    const stubs = stubRunFns({
      head: async () => {
        throw new NodeError('head_bad_config', 'hidden layer too wide for this backbone');
      },
    });
    const result = await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs }, stubs.fns);
    await settle();
    expect(result.status).toBe('failed');
    expect(result.failed).toEqual({ nodeId: 'head', code: 'head_bad_config', message: 'hidden layer too wide for this backbone' });
    expect(rec.of('node.failed')).toEqual([
      { type: 'node.failed', nodeId: 'head', nodeType: 'head', code: 'head_bad_config', message: 'hidden layer too wide for this backbone' },
    ]);
    expect(rec.events.at(-1)).toMatchObject({ type: 'run.finished', status: 'failed' });
    expect(rec.of('node.started').map((e) => e.nodeId)).not.toContain('train');
    expect(stubs.ran()).not.toContain('train');
    expect(unhandled).toEqual([]);
  });

  it('codes out-of-memory errors as out_of_memory and other errors as node_error', async () => {
    const failWith = async (error: unknown) => {
      const rec = recorder();
      const fn: NodeRunFn = async () => {
        throw error;
      };
      await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs }, stubRunFns({ train: fn }).fns);
      return rec.of('node.failed')[0];
    };
    expect(await failWith(new Error('OOM when allocating tensor with shape[32,160,160,3]'))).toMatchObject({
      nodeId: 'train',
      code: 'out_of_memory',
    });
    expect(await failWith(new Error('no images found'))).toMatchObject({ code: 'node_error', message: 'no images found' });
    expect(await failWith('a string')).toMatchObject({ code: 'node_error', message: 'a string' });
  });

  it('fails a node whose run function throws synchronously or returns no outputs', async () => {
    const sync: NodeRunFn = () => {
      throw new Error('sync boom');
    };
    const rec = recorder();
    const r1 = await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs }, stubRunFns({ dataset: sync }).fns);
    expect(r1.failed).toMatchObject({ nodeId: 'dataset', code: 'node_error', message: 'sync boom' });

    const empty: NodeRunFn = async () => ({ outputs: {} });
    const r2 = await execute({ runId: 'r', graph: pipeline(), sink: () => {}, dirs: testDirs }, stubRunFns({ augment: empty }).fns);
    expect(r2.failed).toMatchObject({ nodeId: 'augment', code: 'missing_output' });
    expect(r2.failed?.message).toContain('"dataset"');
  });

  it('reports an invalid graph as error logs and a failed run without running anything', async () => {
    const rec = recorder();
    const stubs = stubRunFns();
    const graph = pipeline({ train: { epochs: 0 } });
    graph.edges = graph.edges.filter((e) => e.target !== 'head');
    const result = await execute({ runId: 'r', graph, sink: rec.sink, dirs: testDirs }, stubs.fns);
    expect(result.status).toBe('failed');
    expect(stubs.ran()).toEqual([]);
    expect(rec.events.map((e) => e.type)).toEqual(['run.started', 'node.log', 'node.log', 'run.finished']);
    expect(rec.of('node.log').map((e) => e.nodeId).sort()).toEqual(['head', 'train']);
    expect(rec.of('node.log').every((e) => e.level === 'error')).toBe(true);
    expect(rec.of('node.started')).toEqual([]);
  });

  it('refuses up front when a node type has no run function', async () => {
    const rec = recorder();
    const stubs = stubRunFns();
    const { deploy: _deploy, ...withoutDeploy } = stubs.fns;
    const result = await execute({ runId: 'r', graph: pipeline(), sink: rec.sink, dirs: testDirs }, withoutDeploy);
    expect(result.status).toBe('failed');
    expect(result.failed).toMatchObject({ nodeId: 'deploy', code: 'not_implemented' });
    expect(stubs.ran()).toEqual([]);
  });

  it('survives a sink that throws', async () => {
    const result = await execute(
      {
        runId: 'r',
        graph: pipeline(),
        sink: () => {
          throw new Error('socket closed');
        },
        dirs: testDirs,
      },
      stubRunFns().fns,
    );
    expect(result.status).toBe('succeeded');
  });

  it('runs a graph built with the builder that has an optional input left open', async () => {
    const b = new GraphBuilder();
    const d = b.node('dataset');
    const bb = b.node('backbone');
    const h = b.node('head');
    const t = b.node('train');
    const dep = b.node('deploy');
    b.connect(bb, 'backbone', h, 'backbone');
    b.connect(d, 'dataset', t, 'dataset');
    b.connect(h, 'model', t, 'model');
    b.connect(t, 'trained', dep, 'trained');
    const stubs = stubRunFns();
    const result = await execute({ runId: 'r', graph: b.build(), sink: () => {}, dirs: testDirs }, stubs.fns);
    expect(result.status).toBe('succeeded');
    expect(stubs.calls.find((c) => c.nodeId === dep)?.inputs).toEqual({ trained: { port: 'trained', from: t } });
  });
});
