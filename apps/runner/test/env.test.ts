import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { findRepoRoot, readEnv } from '../src/env.ts';

describe('readEnv', () => {
  it('requires RUNNER_TOKEN of at least 16 characters and names it', () => {
    expect(() => readEnv({})).toThrow(/RUNNER_TOKEN: RUNNER_TOKEN is required/);
    expect(() => readEnv({ RUNNER_TOKEN: 'short' })).toThrow(/RUNNER_TOKEN must be at least 16 characters/);
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
      backend: undefined,
    });
  });

  it('names each bad variable', () => {
    expect(() =>
      readEnv({ RUNNER_TOKEN: 'x'.repeat(16), RUNNER_PORT: 'abc', RUNNER_CONCURRENCY: '0', RUNNER_BACKEND: 'tpu' }),
    ).toThrow(/RUNNER_PORT[\s\S]*RUNNER_CONCURRENCY[\s\S]*RUNNER_BACKEND/);
  });
});
