import { join } from 'node:path';
import { FsStore, S3Store } from '@defectflow/storage';
import { describe, expect, it } from 'vitest';
import { readEnv } from '../src/env.ts';
import { createRunnerStore, runnerCasDir } from '../src/storage.ts';

const TOKEN = { RUNNER_TOKEN: 'a-long-enough-test-token' };

describe('runner storage env', () => {
  it('default: FsStore rooted at DATA_DIR (the runner\'s own files), cache under DATA_DIR/cache/blobs', () => {
    const env = readEnv({ ...TOKEN, DATA_DIR: '/srv/df' });
    const store = createRunnerStore(env);
    expect(store).toBeInstanceOf(FsStore);
    expect((store as FsStore).root).toBe('/srv/df');
    expect(runnerCasDir(env)).toBe(join('/srv/df', 'cache', 'blobs'));
  });

  it('STORAGE_URL=s3://… gives an S3Store; a bad value names its variable', () => {
    const env = readEnv({ ...TOKEN, STORAGE_URL: 's3://df-art/p?endpoint=http://127.0.0.1:9000', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' });
    expect(createRunnerStore(env)).toBeInstanceOf(S3Store);
    expect(() => readEnv({ ...TOKEN, STORAGE_URL: 's3://df-art/p', S3_SECRET_ACCESS_KEY: 's' })).toThrow(/Invalid runner environment:\n {2}S3_ACCESS_KEY_ID is unset/);
  });
});
