/**
 * A real S3-compatible server on loopback for tests (s3rver, in-process, files in a temp folder): the
 * S3Store contract tests and any multi-process test that needs object storage without installing one.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';
import { S3Store } from './s3-store.ts';

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  /** STORAGE_URL for this server (credentials: S3_ACCESS_KEY_ID/S3_SECRET_ACCESS_KEY = accessKeyId/secretAccessKey). */
  storageUrl(prefix?: string): string;
  store(prefix?: string): S3Store;
  accessKeyId: string;
  secretAccessKey: string;
  close(): Promise<void>;
}

export async function startTestS3Server(opts: { bucket?: string; port?: number } = {}): Promise<TestS3Server> {
  const bucket = opts.bucket ?? 'defectflow-test';
  const directory = await mkdtemp(join(tmpdir(), 'df-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: opts.port ?? 0,
    directory,
    silent: true,
    configureBuckets: [{ name: bucket }],
  });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  // s3rver accepts exactly this pair.
  const accessKeyId = 'S3RVER';
  const secretAccessKey = 'S3RVER';
  return {
    endpoint,
    bucket,
    accessKeyId,
    secretAccessKey,
    storageUrl: (prefix = '') => `s3://${bucket}/${prefix}?endpoint=${encodeURIComponent(endpoint)}`,
    store: (prefix) => new S3Store({ endpoint, bucket, prefix, region: 'us-east-1', accessKeyId, secretAccessKey }),
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
