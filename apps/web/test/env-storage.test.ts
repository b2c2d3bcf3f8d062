import { describe, expect, it } from 'vitest';
import { loadEnv } from '../server/env.ts';

describe('STORAGE_URL and S3_* in the web env', () => {
  it('unset: the default (DATA_DIR itself); set: kept for storeFromEnv', () => {
    expect(loadEnv({}).storage.STORAGE_URL).toBeUndefined();
    const env = loadEnv({ STORAGE_URL: 's3://df-art/a?endpoint=http://127.0.0.1:9000', S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' });
    expect(env.storage).toMatchObject({ STORAGE_URL: 's3://df-art/a?endpoint=http://127.0.0.1:9000', S3_ACCESS_KEY_ID: 'k' });
  });

  it('a bad value stops the start naming the variable', () => {
    expect(() => loadEnv({ STORAGE_URL: 'ftp://x' })).toThrow(/STORAGE_URL ftp:\/\/x: unsupported scheme/);
    expect(() => loadEnv({ STORAGE_URL: 's3://df-art/a', S3_ACCESS_KEY_ID: 'k' })).toThrow(/S3_SECRET_ACCESS_KEY is unset/);
  });
});
