import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRepoRoot, readEnv } from '../src/env.ts';

describe('readEnv', () => {
  it('requires RUNNER_TOKEN of at least 16 characters and names it', () => {
    expect(() => readEnv({})).toThrow(/RUNNER_TOKEN: RUNNER_TOKEN is required/);
    expect(() => readEnv({ RUNNER_TOKEN: 'short' })).toThrow(/RUNNER_TOKEN must be at least 16 characters/);
  });

  it('cluster mode (REDIS_URL) needs no RUNNER_TOKEN, checks the URL and reads the lock settings', () => {
    const env = readEnv({ REDIS_URL: 'redis://10.0.0.5:6379', RUNNER_LOCK_MS: '5000', RUNNER_STALLED_CHECK_MS: '1000' });
    expect(env.cluster).toEqual({ redisUrl: 'redis://10.0.0.5:6379', lockMs: 5000, stalledCheckMs: 1000 });
    expect(env.token.length).toBeGreaterThanOrEqual(16);
    expect(readEnv({ RUNNER_TOKEN: 'x'.repeat(16) }).cluster).toBeUndefined();
    expect(() => readEnv({ REDIS_URL: 'http://nope' })).toThrow(/REDIS_URL must look like redis:\/\/host:6379/);
    expect(() => readEnv({ REDIS_URL: 'redis://h:1', RUNNER_LOCK_MS: '10' })).toThrow(/RUNNER_LOCK_MS/);
  });

  it('fills defaults and resolves DATA_DIR against the repo root', () => {
    const env = readEnv({ RUNNER_TOKEN: 'x'.repeat(16) });
    const root = findRepoRoot();
    expect(env).toEqual({
      port: 3100,
      host: '127.0.0.1',
      token: 'x'.repeat(16),
      dataDir: path.join(root, '.defectflow'),
      datasetsRoot: path.join(root, '.defectflow', 'datasets'),
      concurrency: 1,
      maxQueued: 100,
      backend: undefined,
      outputCacheEntries: 32,
      limits: { featureCacheMaxBytes: 4 * 1024 ** 3, featureCacheMemoryBytes: 512 * 1024 ** 2, imageMaxPixels: 100_000_000 },
      runnerId: undefined,
      cancelDeadlineMs: 60_000,
      predict: { maxQueue: 8, maxImages: 32, maxImageBytes: 20 * 1024 ** 2, maxModels: 3, maxPixels: 100_000_000 },
      blobCacheMaxBytes: 10 * 1024 ** 3,
    });
  });

  it('takes the prediction limits (PREDICT_*), refusing bad ones by name', () => {
    const env = readEnv({ RUNNER_TOKEN: 'x'.repeat(16), PREDICT_MAX_QUEUE: '2', PREDICT_MAX_IMAGES: '4', PREDICT_MAX_IMAGE_BYTES: '1000', PREDICT_MAX_MODELS: '1', IMAGE_MAX_PIXELS: '5000' });
    expect(env.predict).toEqual({ maxQueue: 2, maxImages: 4, maxImageBytes: 1000, maxModels: 1, maxPixels: 5000 });
    expect(() => readEnv({ RUNNER_TOKEN: 'x'.repeat(16), PREDICT_MAX_QUEUE: '0', PREDICT_MAX_MODELS: 'many' })).toThrow(/PREDICT_MAX_QUEUE[\s\S]*PREDICT_MAX_MODELS/);
  });

  it('takes RUNNER_ID and RUNNER_CANCEL_DEADLINE_S, refusing bad ones by name', () => {
    const env = readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_ID: 'gpu-box-1', RUNNER_CANCEL_DEADLINE_S: '5' });
    expect(env).toMatchObject({ runnerId: 'gpu-box-1', cancelDeadlineMs: 5000 });
    expect(() => readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_ID: '../x' })).toThrow(/RUNNER_ID/);
    expect(() => readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_CANCEL_DEADLINE_S: '0' })).toThrow(/RUNNER_CANCEL_DEADLINE_S/);
  });

  it('takes RUNNER_MAX_QUEUED and refuses a negative one by name', () => {
    expect(readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_MAX_QUEUED: '3' }).maxQueued).toBe(3);
    expect(() => readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_MAX_QUEUED: '-1' })).toThrow(/RUNNER_MAX_QUEUED/);
  });

  it('takes the cache and decode limits, refusing bad ones by name', () => {
    const env = readEnv({
      RUNNER_TOKEN: 'x'.repeat(16),
      RUNNER_OUTPUT_CACHE_ENTRIES: '4',
      FEATURE_CACHE_MAX_BYTES: '1000000',
      FEATURE_CACHE_MEMORY_BYTES: '0',
      IMAGE_MAX_PIXELS: '2000000',
    });
    expect(env.outputCacheEntries).toBe(4);
    expect(env.limits).toEqual({ featureCacheMaxBytes: 1_000_000, featureCacheMemoryBytes: 0, imageMaxPixels: 2_000_000 });
    expect(() => readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_OUTPUT_CACHE_ENTRIES: '-1' })).toThrow(/RUNNER_OUTPUT_CACHE_ENTRIES/);
    expect(() => readEnv({ RUNNER_TOKEN: 'x'.repeat(16), FEATURE_CACHE_MAX_BYTES: 'lots' })).toThrow(/FEATURE_CACHE_MAX_BYTES/);
    expect(() => readEnv({ RUNNER_TOKEN: 'x'.repeat(16), IMAGE_MAX_PIXELS: '0' })).toThrow(/IMAGE_MAX_PIXELS/);
  });

  it('names each bad variable', () => {
    expect(() =>
      readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_PORT: 'abc', RUNNER_CONCURRENCY: '0', RUNNER_BACKEND: 'tpu' }),
    ).toThrow(/RUNNER_PORT[\s\S]*RUNNER_CONCURRENCY[\s\S]*RUNNER_BACKEND/);
  });
});
