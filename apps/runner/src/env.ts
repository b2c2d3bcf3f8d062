import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkedStorageEnv, type StorageEnv } from '@defectflow/storage';
import { z } from 'zod';
import type { PredictLimits } from './predict/types.ts';
import { RUNNER_ID_PATTERN } from './runner-id.ts';

/** The runner's configuration. This module is the only reader of process.env in apps/runner. */
export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

const EnvSchema = z.object({
  RUNNER_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  RUNNER_HOST: z.string().min(1).default('127.0.0.1'),
  RUNNER_TOKEN: z
    .string({ error: 'RUNNER_TOKEN is required (a shared secret of at least 16 characters)' })
    .min(16, 'RUNNER_TOKEN must be at least 16 characters long')
    .optional(),
  /** Cluster mode: take runs from the BullMQ queue on this Redis instead of serving a web server (docs/SCALING.md). */
  REDIS_URL: z.string().regex(/^rediss?:\/\/.+/, 'REDIS_URL must look like redis://host:6379 (or rediss:// for TLS)').optional(),
  /** Cluster mode: how long a run's job lock lasts without renewal; a runner that died is noticed after about this long. */
  RUNNER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** Cluster mode: how often each runner looks for runs whose runner stopped renewing their lock. */
  RUNNER_STALLED_CHECK_MS: z.coerce.number().int().min(500).max(600_000).default(10_000),
  DATA_DIR: z.string().min(1).default('./.defectflow'),
  DATASETS_ROOT: z.string().min(1).optional(),
  RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  /** Runs waiting for a slot; starting one more is refused (TOO_MANY_REQUESTS) until the queue shrinks. */
  RUNNER_MAX_QUEUED: z.coerce.number().int().min(0).max(100_000).default(100),
  RUNNER_BACKEND: z.enum(BACKEND_PREFERENCES).optional(),
  /** This runner's stable id (runs.runner_id); default: kept in DATA_DIR/runner-id, created on first start. */
  RUNNER_ID: z.string().regex(RUNNER_ID_PATTERN, 'RUNNER_ID must be 1-128 characters of [A-Za-z0-9_.:-], starting with a letter or digit').optional(),
  /**
   * Seconds a cancelled (or crashed) run may go on computing before the runner exits so that its supervisor
   * (the web server, systemd, …) restarts it: the next run never starts beside a run that is still running.
   */
  RUNNER_CANCEL_DEADLINE_S: z.coerce.number().int().min(1).max(3600).default(60),
  /** Node outputs (models, ONNX Runtime sessions…) kept for cached reruns; the least recently used beyond it are freed. */
  RUNNER_OUTPUT_CACHE_ENTRIES: z.coerce.number().int().min(0).max(10_000).default(32),
  /** On-disk feature cache cap in bytes (DATA_DIR/cache/features); least recently used entries are evicted past it. */
  FEATURE_CACHE_MAX_BYTES: z.coerce.number().int().min(0).default(4 * 1024 ** 3),
  /** Cluster mode: cap on the blob cache's bytes no materialized dataset links any more (DATA_DIR/cache/blobs). */
  BLOB_CACHE_MAX_BYTES: z.coerce.number().int().min(0).default(10 * 1024 ** 3),
  /** In-memory feature cache budget in bytes (least recently used entries dropped past it). */
  FEATURE_CACHE_MEMORY_BYTES: z.coerce.number().int().min(0).default(512 * 1024 ** 2),
  /** Images over this many pixels are reported unreadable instead of decoded (the engine's IMAGE_MAX_PIXELS default). */
  IMAGE_MAX_PIXELS: z.coerce.number().int().min(1).default(100_000_000),
  /** Prediction requests waiting for the prediction worker (the one running included); one more is refused as busy. */
  PREDICT_MAX_QUEUE: z.coerce.number().int().min(1).max(10_000).default(8),
  /** Images per prediction request. */
  PREDICT_MAX_IMAGES: z.coerce.number().int().min(1).max(10_000).default(32),
  /** Bytes per predicted image (a larger one gets its own error). */
  PREDICT_MAX_IMAGE_BYTES: z.coerce.number().int().min(1).default(20 * 1024 ** 2),
  /** Models the prediction worker keeps loaded (least recently used unloaded first). */
  PREDICT_MAX_MODELS: z.coerce.number().int().min(1).max(100).default(3),
  /** PEM certificate and key files: serve https (the web server then needs RUNNER_URL=https://… and, for a
   * self-signed certificate, RUNNER_CA). */
  RUNNER_TLS_CERT: z.string().min(1).optional(),
  RUNNER_TLS_KEY: z.string().min(1).optional(),
  /** Where run artifacts, models and published datasets live (unset: DATA_DIR itself); see @defectflow/storage. */
  STORAGE_URL: z.string().optional(),
  S3_ACCESS_KEY_ID: z.string().optional(),
  S3_SECRET_ACCESS_KEY: z.string().optional(),
  S3_REGION: z.string().optional(),
});

export interface RunnerEnv {
  port: number;
  host: string;
  /** RUNNER_TOKEN; in cluster mode without one, a random token (its HTTP server then serves nobody but itself). */
  token: string;
  /** Cluster mode (REDIS_URL): job lock and stalled-check period. */
  cluster?: { redisUrl: string; lockMs: number; stalledCheckMs: number };
  dataDir: string;
  datasetsRoot: string;
  concurrency: number;
  maxQueued: number;
  backend?: BackendPreference;
  /** RUNNER_ID when set (else the server reads or creates DATA_DIR/runner-id). */
  runnerId?: string;
  /** RUNNER_CANCEL_DEADLINE_S in ms. */
  cancelDeadlineMs: number;
  /** RUNNER_OUTPUT_CACHE_ENTRIES. */
  outputCacheEntries: number;
  /** FEATURE_CACHE_MAX_BYTES, FEATURE_CACHE_MEMORY_BYTES and IMAGE_MAX_PIXELS, as the nodes take them. */
  limits: { featureCacheMaxBytes: number; featureCacheMemoryBytes: number; imageMaxPixels: number };
  /** PREDICT_MAX_QUEUE / _IMAGES / _IMAGE_BYTES / _MODELS and IMAGE_MAX_PIXELS (predict/). */
  predict: PredictLimits;
  /** PEM text of RUNNER_TLS_CERT / RUNNER_TLS_KEY: serve https. */
  tls?: { cert: string; key: string };
  /** STORAGE_URL and S3_* (validated) when STORAGE_URL is set; createRunnerStore (storage.ts) builds the store. */
  storage?: StorageEnv;
  /** BLOB_CACHE_MAX_BYTES. */
  blobCacheMaxBytes: number;
}

/** The monorepo root (the package.json with "workspaces"); relative paths in env resolve against it. */
export function findRepoRoot(start = path.dirname(fileURLToPath(import.meta.url))): string {
  let dir = start;
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ('workspaces' in JSON.parse(readFileSync(pkg, 'utf8'))) return dir;
      } catch {
        // unreadable package.json: keep walking up
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
}

/** Parses the environment; throws one Error whose message names every bad variable. */
export function readEnv(source: NodeJS.ProcessEnv = process.env): RunnerEnv {
  // An empty variable (`RUNNER_TOKEN=` in a unit file or compose env) means unset, as for the web server.
  const cleaned = Object.fromEntries(Object.entries(source).filter(([, v]) => v !== ''));
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new Error(`Invalid runner environment:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const root = findRepoRoot();
  if (Boolean(env.RUNNER_TLS_CERT) !== Boolean(env.RUNNER_TLS_KEY)) {
    throw new Error('Invalid runner environment:\n  RUNNER_TLS_CERT and RUNNER_TLS_KEY: set both (PEM files) to serve https, or neither');
  }
  const readPem = (variable: string, file: string, marker: RegExp): string => {
    let text: string;
    try {
      text = readFileSync(path.resolve(root, file), 'utf8');
    } catch (err) {
      throw new Error(`Invalid runner environment:\n  ${variable}: cannot read ${file}: ${(err as Error).message}`);
    }
    if (!marker.test(text)) throw new Error(`Invalid runner environment:\n  ${variable}: ${file} is not a PEM file of the right kind`);
    return text;
  };
  const dataDir = path.resolve(root, env.DATA_DIR);
  if (!env.RUNNER_TOKEN && !env.REDIS_URL) {
    throw new Error('Invalid runner environment:\n  RUNNER_TOKEN: RUNNER_TOKEN is required (a shared secret of at least 16 characters)');
  }
  let storage: StorageEnv;
  try {
    storage = checkedStorageEnv(env, dataDir);
  } catch (err) {
    throw new Error(`Invalid runner environment:\n  ${(err as Error).message}`);
  }
  return {
    port: env.RUNNER_PORT,
    host: env.RUNNER_HOST,
    token: env.RUNNER_TOKEN ?? randomBytes(24).toString('base64url'),
    cluster: env.REDIS_URL
      ? { redisUrl: env.REDIS_URL, lockMs: env.RUNNER_LOCK_MS, stalledCheckMs: env.RUNNER_STALLED_CHECK_MS }
      : undefined,
    dataDir,
    datasetsRoot: env.DATASETS_ROOT ? path.resolve(root, env.DATASETS_ROOT) : path.join(dataDir, 'datasets'),
    concurrency: env.RUNNER_CONCURRENCY,
    maxQueued: env.RUNNER_MAX_QUEUED,
    backend: env.RUNNER_BACKEND,
    runnerId: env.RUNNER_ID,
    cancelDeadlineMs: env.RUNNER_CANCEL_DEADLINE_S * 1000,
    outputCacheEntries: env.RUNNER_OUTPUT_CACHE_ENTRIES,
    limits: {
      featureCacheMaxBytes: env.FEATURE_CACHE_MAX_BYTES,
      featureCacheMemoryBytes: env.FEATURE_CACHE_MEMORY_BYTES,
      imageMaxPixels: env.IMAGE_MAX_PIXELS,
    },
    predict: {
      maxQueue: env.PREDICT_MAX_QUEUE,
      maxImages: env.PREDICT_MAX_IMAGES,
      maxImageBytes: env.PREDICT_MAX_IMAGE_BYTES,
      maxModels: env.PREDICT_MAX_MODELS,
      maxPixels: env.IMAGE_MAX_PIXELS,
    },
    tls:
      env.RUNNER_TLS_CERT && env.RUNNER_TLS_KEY
        ? {
            cert: readPem('RUNNER_TLS_CERT', env.RUNNER_TLS_CERT, /-----BEGIN CERTIFICATE-----/),
            key: readPem('RUNNER_TLS_KEY', env.RUNNER_TLS_KEY, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
          }
        : undefined,
    storage: storage.STORAGE_URL?.trim() ? storage : undefined,
    blobCacheMaxBytes: env.BLOB_CACHE_MAX_BYTES,
  };
}
