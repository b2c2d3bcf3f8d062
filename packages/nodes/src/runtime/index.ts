/** @defectflow/nodes/runtime — Node only: the executor, output cache and the engine-backed run functions. */
export * from './types.ts';
export { execute } from './executor.ts';
export { MemoryOutputCache, type MemoryOutputCacheOptions } from './cache.ts';
export { createOutputCache, disposeOutputResource } from './output-cache.ts';
export { canonicalJson, computeCacheKeys } from './cache-key.ts';
export { nodeRunFunctions } from './run-functions.ts';
