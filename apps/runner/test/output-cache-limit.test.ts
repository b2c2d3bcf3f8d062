import type { NodeRunContext } from '@defectflow/nodes/runtime';
import { describe, expect, it } from 'vitest';
import { client, collectRun, finishedStatus, startStubServer, stubGraph, stubRunFns, tempDir } from './helpers.ts';

describe('runner: RUNNER_OUTPUT_CACHE_ENTRIES and the nodes limits', () => {
  it('keeps at most that many node outputs across runs, freeing the trained models it drops, and hands every node the limits', async () => {
    const tmp = tempDir();
    const disposed: number[] = [];
    const seen: NodeRunContext['limits'][] = [];
    const stubs = stubRunFns(1);
    const limits = { featureCacheMaxBytes: 1_000_000, featureCacheMemoryBytes: 0, imageMaxPixels: 2_000_000 };
    const server = await startStubServer(tmp.dir, {
      // The stub graph has 4 nodes: data, bb, head and train (the one whose key each seed changes).
      outputCacheEntries: 4,
      limits,
      runFns: {
        ...stubs,
        train: async (_inputs, params, ctx) => {
          seen.push(ctx.limits);
          const seed = Number(params.seed);
          // A stand-in for a trained model: the cache must call dispose() once it drops the output.
          return { outputs: { trained: { model: { dispose: () => disposed.push(seed) } } }, summary: {} };
        },
      },
    });
    const c = client(server.url);
    try {
      for (const seed of [1, 2, 3]) {
        const events = collectRun(c, `run-${seed}`);
        await c.trpc.runs.start.mutate({ runId: `run-${seed}`, graph: stubGraph({ seed }) });
        expect(finishedStatus(await events)).toBe('succeeded');
      }
      // data, bb and head are shared by all three runs; each new train output pushed the oldest one out.
      expect(disposed).toEqual([1, 2]);
      expect(seen).toEqual([limits, limits, limits]);
    } finally {
      c.close();
      await server.close();
      tmp.remove();
    }
  });
});
