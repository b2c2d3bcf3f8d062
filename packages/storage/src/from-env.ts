/**
 * The store a process uses, chosen by STORAGE_URL:
 *   unset                                     FsStore(defaultRoot) — the embedded default (DATA_DIR)
 *   file:///abs/path                          FsStore(/abs/path)
 *   s3://bucket/prefix?endpoint=http://h:9000  S3Store (credentials from S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY)
 */
import { fileURLToPath } from 'node:url';
import { FsStore } from './fs-store.ts';
import { S3Store } from './s3-store.ts';
import type { ArtifactStore } from './store.ts';

export interface StorageEnv {
  STORAGE_URL?: string;
  S3_ACCESS_KEY_ID?: string;
  S3_SECRET_ACCESS_KEY?: string;
  S3_REGION?: string;
}

/**
 * The storage variables of a process's environment, checked (a store is built once and dropped): throws the
 * store's own error, which names the variable. Each process's env module calls it.
 */
export function checkedStorageEnv(source: StorageEnv, defaultRoot: string): StorageEnv {
  const env: StorageEnv = {
    STORAGE_URL: source.STORAGE_URL,
    S3_ACCESS_KEY_ID: source.S3_ACCESS_KEY_ID,
    S3_SECRET_ACCESS_KEY: source.S3_SECRET_ACCESS_KEY,
    S3_REGION: source.S3_REGION,
  };
  storeFromEnv(env, defaultRoot);
  return env;
}

export function storeFromEnv(env: StorageEnv, defaultRoot: string): ArtifactStore {
  const raw = env.STORAGE_URL?.trim();
  if (!raw) return new FsStore(defaultRoot);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`STORAGE_URL ${JSON.stringify(raw)} is not a URL: use file:///absolute/path or s3://bucket/prefix?endpoint=http://host:port`);
  }
  if (url.protocol === 'file:') {
    if (url.host) throw new Error(`STORAGE_URL ${raw}: a file URL names a local folder, file:///absolute/path (no host)`);
    return new FsStore(fileURLToPath(url));
  }
  if (url.protocol === 's3:') return s3FromUrl(url, raw, env);
  throw new Error(`STORAGE_URL ${raw}: unsupported scheme ${url.protocol} (use file:// or s3://)`);
}

function s3FromUrl(url: URL, raw: string, env: StorageEnv): S3Store {
  if (url.username || url.password) {
    throw new Error('STORAGE_URL must not carry credentials: set S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY');
  }
  const bucket = url.hostname;
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new Error(`STORAGE_URL ${raw}: bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 lower-case letters, digits, "." or "-")`);
  }
  for (const name of url.searchParams.keys()) {
    if (name !== 'endpoint' && name !== 'region') throw new Error(`STORAGE_URL ${raw}: unknown parameter ${name} (endpoint, region)`);
  }
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    let ok = false;
    try {
      ok = ['http:', 'https:'].includes(new URL(endpoint).protocol);
    } catch {}
    if (!ok) throw new Error(`STORAGE_URL ${raw}: endpoint ${JSON.stringify(endpoint)} must be an http:// or https:// URL`);
  }
  const id = env.S3_ACCESS_KEY_ID?.trim() || undefined;
  const secret = env.S3_SECRET_ACCESS_KEY?.trim() || undefined;
  if (Boolean(id) !== Boolean(secret)) {
    throw new Error(`${id ? 'S3_SECRET_ACCESS_KEY' : 'S3_ACCESS_KEY_ID'} is unset while ${id ? 'S3_ACCESS_KEY_ID' : 'S3_SECRET_ACCESS_KEY'} is set: set both (or neither, for the SDK's default credentials)`);
  }
  const prefix = decodeURIComponent(url.pathname).replace(/^\/+|\/+$/g, '');
  try {
    return new S3Store({
      endpoint,
      bucket,
      prefix: prefix || undefined,
      region: env.S3_REGION?.trim() || url.searchParams.get('region') || undefined,
      accessKeyId: id,
      secretAccessKey: secret,
    });
  } catch (err) {
    throw new Error(`STORAGE_URL ${raw}: ${(err as Error).message}`);
  }
}
