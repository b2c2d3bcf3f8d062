import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FsStore, S3Store, storeFromEnv } from '../src/index.ts';

describe('storeFromEnv', () => {
  it('unset (or blank) STORAGE_URL = FsStore at the default root; file:// = FsStore there', () => {
    const a = storeFromEnv({}, '/data/df');
    expect(a).toBeInstanceOf(FsStore);
    expect((a as FsStore).root).toBe('/data/df');
    expect((storeFromEnv({ STORAGE_URL: ' ' }, '/d') as FsStore).root).toBe('/d');
    expect((storeFromEnv({ STORAGE_URL: 'file:///srv/artifacts' }, '/d') as FsStore).root).toBe(join('/srv', 'artifacts'));
  });

  it('s3://bucket/prefix?endpoint= = S3Store, path-style, described without secrets', async () => {
    const s = storeFromEnv(
      { STORAGE_URL: 's3://df-artifacts/plant-a?endpoint=http://10.0.0.5:9000', S3_ACCESS_KEY_ID: 'AKIA', S3_SECRET_ACCESS_KEY: 'topsecret', S3_REGION: 'eu-west-1' },
      '/d',
    );
    expect(s).toBeInstanceOf(S3Store);
    expect(s.describe()).toBe('s3 http://10.0.0.5:9000 bucket df-artifacts prefix plant-a/');
    expect(s.describe()).not.toContain('topsecret');
    const client = (s as S3Store).client;
    expect(client.config.forcePathStyle).toBe(true);
    expect(await client.config.region()).toBe('eu-west-1');
  });

  it('bad values are errors naming the variable', () => {
    const bad: [Record<string, string>, RegExp][] = [
      [{ STORAGE_URL: 'not a url' }, /^STORAGE_URL "not a url" is not a URL/],
      [{ STORAGE_URL: 'ftp://x/y' }, /^STORAGE_URL ftp:\/\/x\/y: unsupported scheme ftp:/],
      [{ STORAGE_URL: 's3://Bad_Bucket/p' }, /^STORAGE_URL .*bucket "bad_bucket"|^STORAGE_URL .*bucket/],
      [{ STORAGE_URL: 's3://key:secret@bucket1/p' }, /^STORAGE_URL must not carry credentials: set S3_ACCESS_KEY_ID/],
      [{ STORAGE_URL: 's3://bucket1/p?endpoint=minio:9000' }, /^STORAGE_URL .*endpoint "minio:9000" must be an http/],
      [{ STORAGE_URL: 's3://bucket1/p?endpiont=http://x' }, /^STORAGE_URL .*unknown parameter endpiont/],
      [{ STORAGE_URL: 's3://bucket1/p', S3_ACCESS_KEY_ID: 'AKIA' }, /^S3_SECRET_ACCESS_KEY is unset while S3_ACCESS_KEY_ID is set/],
      [{ STORAGE_URL: 's3://bucket1/p', S3_SECRET_ACCESS_KEY: 's' }, /^S3_ACCESS_KEY_ID is unset while S3_SECRET_ACCESS_KEY is set/],
      [{ STORAGE_URL: 's3://bucket1/a b?endpoint=http://x' }, /^STORAGE_URL .*invalid storage key/],
      [{ STORAGE_URL: 'file://host/x' }, /^STORAGE_URL file:\/\/host\/x: a file URL names a local folder/],
    ];
    for (const [env, re] of bad) expect(() => storeFromEnv(env, '/d'), JSON.stringify(env)).toThrow(re);
  });
});
