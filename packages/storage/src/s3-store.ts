/**
 * The S3-compatible store (AWS, MinIO, Ceph RGW, s3rver…): path-style addressing, any endpoint, objects under
 * an optional key prefix inside one bucket. The bucket must exist.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { checkKey, checkPrefix, InvalidKeyError } from './keys.ts';
import type { ArtifactStore, StoredObject } from './store.ts';
import { tempSibling } from './temp-file.ts';

export interface S3StoreOptions {
  /** e.g. http://minio:9000; unset = AWS's own endpoint for the region. */
  endpoint?: string;
  bucket: string;
  /** Key prefix inside the bucket (no leading/trailing "/"), so several installations can share one bucket. */
  prefix?: string;
  region?: string;
  /** Unset = the SDK's default credential chain (instance role, ~/.aws…). */
  accessKeyId?: string;
  secretAccessKey?: string;
}

export class S3Store implements ArtifactStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly prefix: string;
  private readonly endpoint: string | undefined;

  constructor(opts: S3StoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (this.prefix) checkPrefix(`${this.prefix}/`);
    this.endpoint = opts.endpoint;
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region ?? 'us-east-1',
      forcePathStyle: true,
      // Checksums only where S3 requires them: MinIO/Ceph/s3rver differ in which flexible checksums they accept.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      credentials:
        opts.accessKeyId && opts.secretAccessKey ? { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey } : undefined,
    });
  }

  private objectKey(key: string): string {
    return this.prefix ? `${this.prefix}/${key}` : key;
  }

  async put(key: string, body: Buffer | Uint8Array | string): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.objectKey(checkKey(key)), Body: body }));
  }

  async putFile(key: string, path: string): Promise<void> {
    const objectKey = this.objectKey(checkKey(key));
    const { size } = await stat(path);
    // One streamed PUT (S3 allows 5 GB per PUT; model files and dataset images are far below).
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: objectKey, Body: createReadStream(path), ContentLength: size }),
    );
  }

  async getStream(key: string): Promise<Readable | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.objectKey(checkKey(key)) }));
      return res.Body as Readable;
    } catch (err) {
      if (notFound(err)) return null;
      throw err;
    }
  }

  async get(key: string): Promise<Buffer | null> {
    const body = await this.getStream(key);
    if (!body) return null;
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  async getToFile(key: string, path: string): Promise<boolean> {
    const body = await this.getStream(key);
    if (!body) return false;
    const target = resolve(path);
    await mkdir(dirname(target), { recursive: true });
    const tmp = tempSibling(target);
    try {
      await pipeline(body, createWriteStream(tmp));
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return true;
  }

  async has(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(checkKey(key)) }));
      return true;
    } catch (err) {
      if (notFound(err)) return false;
      throw err;
    }
  }

  async list(prefix: string): Promise<StoredObject[]> {
    const full = this.objectKey(checkPrefix(prefix));
    const strip = this.prefix ? this.prefix.length + 1 : 0;
    const out: StoredObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.bucket, Prefix: full, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key.slice(strip), size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(checkKey(key)) }));
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (checkPrefix(prefix) === '') throw new InvalidKeyError(prefix, 'deletePrefix needs a non-empty prefix');
    const objects = await this.list(prefix);
    for (let i = 0; i < objects.length; i += 1000) {
      const batch = objects.slice(i, i + 1000);
      const res = await this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: batch.map((o) => ({ Key: this.objectKey(o.key) })), Quiet: true },
        }),
      );
      const failed = res.Errors ?? [];
      if (failed.length) throw new Error(`${this.describe()}: could not delete ${failed.length} objects under ${prefix} (first: ${failed[0]?.Key}: ${failed[0]?.Message})`);
    }
    return objects.length;
  }

  describe(): string {
    return `s3 ${this.endpoint ?? 'aws'} bucket ${this.bucket}${this.prefix ? ` prefix ${this.prefix}/` : ''}`;
  }
}

function notFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } } | null;
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
