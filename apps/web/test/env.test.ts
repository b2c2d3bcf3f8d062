import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadEnv, REPO_ROOT } from '../server/env.ts';

describe('loadEnv', () => {
  it('defaults: port 3000 on 127.0.0.1, DATA_DIR ./.defectflow against the repo root, embedded runner with a token', () => {
    const env = loadEnv({});
    expect(env).toMatchObject({ port: 3000, host: '127.0.0.1', runnerPort: 3100, dev: false, runnerUrl: undefined });
    expect(env.dataDir).toBe(join(REPO_ROOT, '.defectflow'));
    expect(env.datasetsRoot).toBe(join(REPO_ROOT, '.defectflow', 'datasets'));
    expect(env.modelsDir).toBe(join(REPO_ROOT, '.defectflow', 'models'));
    expect(env.runnerToken.length).toBeGreaterThanOrEqual(32);
    expect(loadEnv({}).runnerToken).not.toBe(env.runnerToken);
  });

  it('relative paths resolve against the repo root whatever the cwd; empty values count as unset', () => {
    const env = loadEnv({ DATA_DIR: 'var/data', DATASETS_ROOT: '/srv/images', PORT: '', WEB_DEV: '1', HOST: '0.0.0.0' });
    expect(env.dataDir).toBe(join(REPO_ROOT, 'var/data'));
    expect(env.datasetsRoot).toBe('/srv/images');
    expect(env).toMatchObject({ port: 3000, dev: true, host: '0.0.0.0', nodeEnv: 'development' });
  });

  it('an external runner needs its token; bad values name the variable', () => {
    expect(() => loadEnv({ RUNNER_URL: 'http://gpu-box:3100' })).toThrow(/RUNNER_TOKEN: is required when RUNNER_URL is set/);
    expect(loadEnv({ RUNNER_URL: 'http://gpu-box:3100', RUNNER_TOKEN: 'a-long-shared-secret' })).toMatchObject({
      runnerUrl: 'http://gpu-box:3100',
      runnerToken: 'a-long-shared-secret',
    });
    expect(() => loadEnv({ PORT: 'eighty' })).toThrow(/PORT/);
    expect(() => loadEnv({ DATABASE_URL: 'not a url' })).toThrow(/DATABASE_URL/);
    expect(() => loadEnv({ RUNNER_TOKEN: 'short' })).toThrow(/RUNNER_TOKEN: must be at least 16/);
  });

  it('resource limits: defaults, values from the environment, bad values named', () => {
    const env = loadEnv({});
    expect(env.uploads).toEqual({
      maxUploadBytes: 2 * 1024 ** 3,
      maxStagingBytes: 8 * 1024 ** 3,
      maxOpen: 8,
      ttlMs: 60 * 60_000,
      maxBytes: 4 * 1024 ** 3,
      maxFiles: 100_000,
      maxRatio: 200,
    });
    expect(env).toMatchObject({ imageMaxPixels: 100_000_000, thumbCacheMaxBytes: 256 * 1024 ** 2 });
    expect(env.predict).toEqual({ maxImages: 32, maxImageBytes: 20 * 1024 ** 2, timeoutMs: 120_000 }); // the queue's limits are the runner's
    const set = loadEnv({ UPLOAD_STAGING_MAX_BYTES: '1000000', UPLOAD_STAGING_TTL_MIN: '5', PREDICT_TIMEOUT_MS: '2000', IMAGE_MAX_PIXELS: '4000000' });
    expect(set.uploads).toMatchObject({ maxStagingBytes: 1_000_000, ttlMs: 300_000 });
    expect(set).toMatchObject({ imageMaxPixels: 4_000_000, predict: { timeoutMs: 2000 } });
    expect(() => loadEnv({ UPLOAD_MAX_OPEN: '0', THUMB_CACHE_MAX_BYTES: 'lots' })).toThrow(/UPLOAD_MAX_OPEN[\s\S]*THUMB_CACHE_MAX_BYTES/);
  });

  it('prediction API and log: defaults, values from the environment, bad values named', () => {
    const env = loadEnv({});
    expect(env.predictRatePerMin).toBe(600);
    expect(env.predictionLog).toEqual({ sampleRate: 0.05, lowConfidence: 0.6, imagesMaxBytes: 1024 ** 3, retentionDays: 90 });
    const set = loadEnv({
      PREDICT_RATE_PER_MIN: '30',
      PREDICTION_SAMPLE_RATE: '1',
      PREDICTION_LOW_CONFIDENCE: '0.75',
      PREDICTION_IMAGES_MAX_BYTES: '1000000',
      PREDICTION_RETENTION_DAYS: '7',
    });
    expect(set.predictRatePerMin).toBe(30);
    expect(set.predictionLog).toEqual({ sampleRate: 1, lowConfidence: 0.75, imagesMaxBytes: 1_000_000, retentionDays: 7 });
    expect(() => loadEnv({ PREDICTION_SAMPLE_RATE: '5', PREDICTION_RETENTION_DAYS: '0', PREDICT_RATE_PER_MIN: 'fast' })).toThrow(
      /PREDICT_RATE_PER_MIN[\s\S]*PREDICTION_SAMPLE_RATE[\s\S]*PREDICTION_RETENTION_DAYS/,
    );
  });
});
