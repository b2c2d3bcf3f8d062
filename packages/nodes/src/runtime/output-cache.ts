import { disposeModel, isLayersModel } from '@defectflow/engine';
import { MemoryOutputCache } from './cache.ts';

/**
 * Frees one resource of a dropped node output: a tf model also gets its memoised ONNX Runtime
 * sessions and worker threads stopped; anything else its dispose(), release() or terminate().
 */
export function disposeOutputResource(resource: object): unknown {
  if (isLayersModel(resource)) return disposeModel(resource);
  const r = resource as { dispose?: () => unknown; release?: () => unknown; terminate?: () => unknown };
  if (typeof r.dispose === 'function') return r.dispose();
  if (typeof r.release === 'function') return r.release();
  return r.terminate?.();
}

/** The runner's node-output cache: at most `maxEntries` node outputs (RUNNER_OUTPUT_CACHE_ENTRIES), LRU, freeing what it drops. */
export function createOutputCache(options: { maxEntries?: number } = {}): MemoryOutputCache {
  return new MemoryOutputCache({ maxEntries: options.maxEntries, dispose: disposeOutputResource });
}
