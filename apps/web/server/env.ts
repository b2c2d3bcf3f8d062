/**
 * The web server's configuration: the only module of apps/web that reads process.env.
 * Every variable is validated with zod; a bad one stops the start with a message naming it.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IMAGE_MAX_PIXELS } from '@defectflow/engine/data';
import { checkedStorageEnv, type StorageEnv } from '@defectflow/storage';
import { z } from 'zod';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, USERNAME_PATTERN } from './auth/principal.ts';

/** Repository root (apps/web/server → ../../..): relative DATA_DIR values resolve here, not against the cwd. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The Next.js project folder (apps/web). */
export const WEB_DIR = fileURLToPath(new URL('../', import.meta.url));

const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);
/** A count or a byte size: a positive whole number. */
const count = z.coerce.number().int().positive();
const MiB = 1024 ** 2;
const GiB = 1024 ** 3;

const EnvSchema = z
  .object({
    PORT: port.default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('./.defectflow'),
    DATASETS_ROOT: z.string().min(1).optional(),
    DATABASE_URL: z.string().url().optional(),
    RUNNER_URL: z.string().url().optional(),
    /** Cluster mode: runs go to the BullMQ queue on this Redis, runners anywhere take them (docs/SCALING.md). */
    REDIS_URL: z.string().regex(/^rediss?:\/\/.+/, 'must look like redis://host:6379 (or rediss:// for TLS)').optional(),
    /** Cluster mode: this web server's name in the event stream's consumer group; keep it across restarts. */
    WEB_ID: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'must be 1-128 characters of [A-Za-z0-9_.:-]').optional(),
    /** Where run artifacts, models and published datasets live (unset: DATA_DIR itself; file:///abs or s3://bucket/prefix?endpoint=…). */
    STORAGE_URL: z.string().min(1).optional(),
    S3_ACCESS_KEY_ID: z.string().min(1).optional(),
    S3_SECRET_ACCESS_KEY: z.string().min(1).optional(),
    S3_REGION: z.string().min(1).optional(),
    RUNNER_TOKEN: z.string().min(16, 'must be at least 16 characters (the runner refuses shorter tokens)').optional(),
    /** Port for the embedded runner child; 0 picks a free one. */
    RUNNER_PORT: port.default(3100),
    NODE_ENV: z.enum(['development', 'production', 'test']).optional(),
    /** Serve pages with `next dev` (hot reload) instead of the built .next folder. */
    WEB_DEV: flag,
    /** Skip generating the sample dataset on start (tests that do not need it). */
    SKIP_SAMPLE_DATA: flag,
    // Bounded resources: hitting a limit gives an error that names its variable.
    /** One upload: the zip, or all files of a dropped folder. */
    UPLOAD_MAX_BYTES: count.default(2 * GiB),
    /** All uploads in staging together, archives being unpacked included. */
    UPLOAD_STAGING_MAX_BYTES: count.default(8 * GiB),
    UPLOAD_MAX_OPEN: count.max(10_000).default(8),
    /** Minutes an upload may sit idle before its staging folder is deleted. */
    UPLOAD_STAGING_TTL_MIN: z.coerce.number().positive().default(60),
    UPLOAD_MAX_UNPACKED_BYTES: count.default(4 * GiB),
    UPLOAD_MAX_ENTRIES: count.default(100_000),
    /** Unpacked / packed size above which an entry (> 1 MiB) or the whole archive is refused as a zip bomb. */
    UPLOAD_MAX_RATIO: z.coerce.number().min(1).default(200),
    /** One imported backbone (.onnx file) on the /backbones page; ONNX protobuf files stop at 2 GiB anyway. */
    BACKBONE_UPLOAD_MAX_BYTES: count.default(1 * GiB),
    /** Pixels (width × height) of an image the web server decodes: thumbnails and predictions. */
    IMAGE_MAX_PIXELS: count.default(IMAGE_MAX_PIXELS), // the engine's default, shared with the runner
    /** Disk bytes of cached thumbnails (DATA_DIR/cache/thumbs); the least recently used go first. */
    THUMB_CACHE_MAX_BYTES: count.default(256 * MiB),
    /** Cluster mode with STORAGE_URL: cap on the dataset mirror's cached blobs that no dataset links any more. */
    BLOB_CACHE_MAX_BYTES: count.default(10 * GiB),
    /** Images per prediction request and bytes per image, checked here before a request goes to the runner (the
     * runner reads the same variables, with PREDICT_MAX_QUEUE and PREDICT_MAX_MODELS: apps/runner/src/env.ts). */
    PREDICT_MAX_IMAGES: count.max(10_000).default(32),
    PREDICT_MAX_IMAGE_BYTES: count.default(20 * MiB),
    /** A prediction (or backbone inspection) the runner has not answered by then fails as unavailable (503). */
    PREDICT_TIMEOUT_MS: count.max(3_600_000).default(120_000),
    /** Hyperparameter sweeps this web server drives at once (server/sweeps/); another start is refused, naming it. */
    SWEEP_MAX_RUNNING: count.max(1_000).default(4),
    /** Prediction API (/api/v1/…/predict) requests per API token (or user) per minute. */
    PREDICT_RATE_PER_MIN: count.max(1_000_000).default(600),
    // The prediction log (server/predictions/log.ts).
    /** Share of predictions whose image is kept (0..1), besides every low-confidence one. */
    PREDICTION_SAMPLE_RATE: z.coerce.number().min(0).max(1).default(0.05),
    /** A prediction whose confidence is below this is low-confidence: flagged, and its image kept. */
    PREDICTION_LOW_CONFIDENCE: z.coerce.number().min(0).max(1).default(0.6),
    /** Disk bytes of kept prediction images (DATA_DIR/predictions); the oldest images go first, their rows stay. */
    PREDICTION_IMAGES_MAX_BYTES: count.default(GiB),
    /** Prediction log rows (and their images) older than this are deleted, at start and hourly. */
    PREDICTION_RETENTION_DAYS: z.coerce.number().positive().max(36_500).default(90),
    // Monitoring alarms (server/monitoring/): rules judged over each model's last ALARM_WINDOW predictions.
    ALARM_WINDOW: count.min(1).max(100_000).default(50),
    /** No rule is judged on fewer predictions (per model, since its window started). */
    ALARM_MIN_PREDICTIONS: count.min(1).max(100_000).default(20),
    /** Alarm when more than this share of the window's images is drifted (each image's chance is ~1 % in distribution). */
    ALARM_DRIFT_RATE: z.coerce.number().min(0).max(1).default(0.2),
    /** Alarm when more than this share of the window's predictions is low-confidence (PREDICTION_LOW_CONFIDENCE). */
    ALARM_LOW_CONFIDENCE_RATE: z.coerce.number().min(0).max(1).default(0.5),
    /** Alarm when the window's predicted class mix is further than this from the training mix (total variation, 0..1). */
    ALARM_CLASS_MIX_DISTANCE: z.coerce.number().min(0).max(1).default(0.4),
    /** POST each raised / cleared alarm as JSON here (optional); retried with backoff, never in a prediction's path. */
    ALARM_WEBHOOK_URL: z.string().url().regex(/^https?:\/\//, 'must be an http(s) URL').optional(),
    ALARM_WEBHOOK_RETRIES: count.max(20).default(5),
    ALARM_WEBHOOK_TIMEOUT_MS: count.min(100).max(120_000).default(5000),
    // Access control (server/auth/).
    /** Accounts: `on` | `off`. Default off when HOST is a loopback address (zero-config), on otherwise. */
    AUTH: z.enum(['on', 'off']).optional(),
    /** The first admin, created at start when no user exists (else: the setup code in the log). */
    ADMIN_USERNAME: z
      .string()
      .trim()
      .toLowerCase()
      .regex(USERNAME_PATTERN, 'must be 2-40 lower-case letters, digits, ".", "_" or "-"')
      .optional(),
    ADMIN_PASSWORD: z
      .string()
      .min(PASSWORD_MIN_LENGTH, `must be at least ${PASSWORD_MIN_LENGTH} characters`)
      .max(PASSWORD_MAX_LENGTH)
      .optional(),
    /** Comma list of extra host names browsers may use (loopback names, HOST and PUBLIC_URL's host always may). */
    ALLOWED_HOSTS: z.string().optional(),
    /** The address users open (e.g. https://defectflow.factory behind a reverse proxy). */
    PUBLIC_URL: z.string().url().optional(),
    /** Behind a reverse proxy: client IP and https from X-Forwarded-For / X-Forwarded-Proto. */
    TRUST_PROXY: flag,
    /** A session ends after this long without a request (sliding). */
    SESSION_TTL_HOURS: z.coerce.number().positive().max(24 * 365).default(12),
    /** A session ends this long after sign-in, however active. */
    SESSION_MAX_DAYS: z.coerce.number().positive().max(365).default(7),
    /** Failed sign-ins allowed per client IP and per username within SIGNIN_WINDOW_MINUTES. */
    SIGNIN_MAX_FAILURES: z.coerce.number().int().min(1).max(100_000).default(10),
    SIGNIN_WINDOW_MINUTES: z.coerce.number().positive().max(24 * 60).default(15),
    /** run:join requests one browser socket may make per 10 seconds. */
    SOCKET_JOIN_LIMIT: z.coerce.number().int().min(1).max(100_000).default(30),
    /** PEM file of the CA (or the self-signed certificate) to trust for an https RUNNER_URL. */
    RUNNER_CA: z.string().min(1).optional(),
  })
  .superRefine((env, ctx) => {
    if (env.AUTH === 'off' && !isLoopbackHost(env.HOST)) {
      ctx.addIssue({
        code: 'custom',
        path: ['AUTH'],
        message:
          `is off while HOST=${env.HOST} is not a loopback address: anyone on the network could use the server. ` +
          'Set AUTH=on (accounts; the default for such a HOST) or HOST=127.0.0.1',
      });
    }
    if (Boolean(env.ADMIN_USERNAME) !== Boolean(env.ADMIN_PASSWORD)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.ADMIN_USERNAME ? 'ADMIN_PASSWORD' : 'ADMIN_USERNAME'],
        message: 'set ADMIN_USERNAME and ADMIN_PASSWORD together',
      });
    }
    if (env.RUNNER_URL && env.REDIS_URL) {
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_URL'],
        message: 'set REDIS_URL (runners take runs from the queue) or RUNNER_URL (one runner), not both',
      });
    }
    if (env.RUNNER_URL && !env.RUNNER_TOKEN) {
      ctx.addIssue({
        code: 'custom',
        path: ['RUNNER_TOKEN'],
        message: 'is required when RUNNER_URL is set (the token the external runner was started with)',
      });
    }
  });

export interface WebEnv {
  port: number;
  host: string;
  dataDir: string;
  datasetsRoot: string;
  modelsDir: string;
  databaseUrl?: string;
  /** STORAGE_URL and S3_* as given (storeFromEnv in app.ts; validated here). `url` set = datasets are published to it. */
  storage: StorageEnv;
  /** Set: connect to an external runner. Unset: spawn the embedded one. */
  runnerUrl?: string;
  runnerToken: string;
  runnerPort: number;
  /** Cluster mode (REDIS_URL): the queue and event streams, and this server's consumer name. */
  cluster?: { redisUrl: string; webId: string };
  nodeEnv: 'development' | 'production' | 'test';
  dev: boolean;
  skipSampleData: boolean;
  /** Accounts and sessions (server/auth/service.ts AuthConfig). */
  auth: {
    enabled: boolean;
    admin?: { username: string; password: string };
    sessionTtlMs: number;
    sessionMaxMs: number;
    signInMaxFailures: number;
    signInWindowMs: number;
  };
  /** ALLOWED_HOSTS entries. */
  allowedHosts: string[];
  publicUrl?: string;
  trustProxy: boolean;
  /** run:join per browser socket per 10 s. */
  socketJoinLimit: number;
  /** PEM text of RUNNER_CA. */
  runnerCa?: string;
  /** Dataset uploads (datasets/upload.ts). */
  uploads: {
    maxUploadBytes: number;
    maxStagingBytes: number;
    maxOpen: number;
    ttlMs: number;
    maxBytes: number;
    maxFiles: number;
    maxRatio: number;
  };
  /** BACKBONE_UPLOAD_MAX_BYTES (backbones/upload.ts). */
  backboneUploadMaxBytes: number;
  imageMaxPixels: number;
  thumbCacheMaxBytes: number;
  /** BLOB_CACHE_MAX_BYTES (cluster/dataset-mirror.ts). */
  blobCacheMaxBytes: number;
  /** Prediction requests (predict.ts; the queue and loaded models are the runner's). */
  predict: { maxImages: number; maxImageBytes: number; timeoutMs: number };
  /** SWEEP_MAX_RUNNING: sweeps driven at once. */
  sweepMaxRunning: number;
  /** Prediction API requests per token (or user) per minute (PREDICT_RATE_PER_MIN). */
  predictRatePerMin: number;
  /** The prediction log (predictions/log.ts). */
  predictionLog: { sampleRate: number; lowConfidence: number; imagesMaxBytes: number; retentionDays: number };
  /** Monitoring alarms (monitoring/rules.ts) and their webhook. */
  alarms: {
    window: number;
    minPredictions: number;
    driftRate: number;
    lowConfidenceRate: number;
    classMixDistance: number;
    webhook: { url: string; retries: number; timeoutMs: number } | null;
  };
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
}

/** A PEM certificate file named by an env variable; a missing or wrong file stops the start naming the variable. */
function readPem(path: string, variable: string): string {
  let text: string;
  try {
    text = readFileSync(absolute(path, REPO_ROOT), 'utf8');
  } catch (err) {
    throw new EnvError(`Invalid environment for the defectflow web server:\n  ${variable}: cannot read ${path}: ${(err as Error).message}`);
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new EnvError(`Invalid environment for the defectflow web server:\n  ${variable}: ${path} is not a PEM certificate`);
  }
  return text;
}

function absolute(p: string, base: string): string {
  return isAbsolute(p) ? p : resolve(base, p);
}

/** Parses an environment (process.env by default). Empty strings count as unset. */
export function loadEnv(source: Record<string, string | undefined> = process.env): WebEnv {
  const cleaned = Object.fromEntries(
    Object.entries(source).filter(([, v]) => v !== undefined && v !== ''),
  ) as Record<string, string>;
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new EnvError(`Invalid environment for the defectflow web server:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const dataDir = absolute(e.DATA_DIR, REPO_ROOT);
  let storage: StorageEnv;
  try {
    storage = checkedStorageEnv(e, dataDir);
  } catch (err) {
    throw new EnvError(`Invalid environment for the defectflow web server:\n  ${(err as Error).message}`);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    datasetsRoot: e.DATASETS_ROOT ? absolute(e.DATASETS_ROOT, REPO_ROOT) : resolve(dataDir, 'datasets'),
    modelsDir: resolve(dataDir, 'models'),
    databaseUrl: e.DATABASE_URL,
    storage,
    runnerUrl: e.RUNNER_URL,
    // Embedded mode: a fresh random token per start; only this process and its child know it.
    runnerToken: e.RUNNER_TOKEN ?? randomBytes(24).toString('hex'),
    runnerPort: e.RUNNER_PORT,
    cluster: e.REDIS_URL ? { redisUrl: e.REDIS_URL, webId: e.WEB_ID ?? `${hostname()}-${e.PORT}` } : undefined,
    nodeEnv: e.NODE_ENV ?? (e.WEB_DEV ? 'development' : 'production'),
    dev: e.WEB_DEV,
    skipSampleData: e.SKIP_SAMPLE_DATA,
    auth: {
      enabled: (e.AUTH ?? (isLoopbackHost(e.HOST) ? 'off' : 'on')) === 'on',
      admin: e.ADMIN_USERNAME && e.ADMIN_PASSWORD ? { username: e.ADMIN_USERNAME, password: e.ADMIN_PASSWORD } : undefined,
      sessionTtlMs: e.SESSION_TTL_HOURS * 3_600_000,
      sessionMaxMs: e.SESSION_MAX_DAYS * 86_400_000,
      signInMaxFailures: e.SIGNIN_MAX_FAILURES,
      signInWindowMs: e.SIGNIN_WINDOW_MINUTES * 60_000,
    },
    allowedHosts: (e.ALLOWED_HOSTS ?? '')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean),
    publicUrl: e.PUBLIC_URL,
    trustProxy: e.TRUST_PROXY,
    socketJoinLimit: e.SOCKET_JOIN_LIMIT,
    runnerCa: e.RUNNER_CA ? readPem(e.RUNNER_CA, 'RUNNER_CA') : undefined,
    uploads: {
      maxUploadBytes: e.UPLOAD_MAX_BYTES,
      maxStagingBytes: e.UPLOAD_STAGING_MAX_BYTES,
      maxOpen: e.UPLOAD_MAX_OPEN,
      ttlMs: e.UPLOAD_STAGING_TTL_MIN * 60_000,
      maxBytes: e.UPLOAD_MAX_UNPACKED_BYTES,
      maxFiles: e.UPLOAD_MAX_ENTRIES,
      maxRatio: e.UPLOAD_MAX_RATIO,
    },
    backboneUploadMaxBytes: e.BACKBONE_UPLOAD_MAX_BYTES,
    imageMaxPixels: e.IMAGE_MAX_PIXELS,
    thumbCacheMaxBytes: e.THUMB_CACHE_MAX_BYTES,
    blobCacheMaxBytes: e.BLOB_CACHE_MAX_BYTES,
    predict: {
      maxImages: e.PREDICT_MAX_IMAGES,
      maxImageBytes: e.PREDICT_MAX_IMAGE_BYTES,
      timeoutMs: e.PREDICT_TIMEOUT_MS,
    },
    sweepMaxRunning: e.SWEEP_MAX_RUNNING,
    predictRatePerMin: e.PREDICT_RATE_PER_MIN,
    predictionLog: {
      sampleRate: e.PREDICTION_SAMPLE_RATE,
      lowConfidence: e.PREDICTION_LOW_CONFIDENCE,
      imagesMaxBytes: e.PREDICTION_IMAGES_MAX_BYTES,
      retentionDays: e.PREDICTION_RETENTION_DAYS,
    },
    alarms: {
      window: e.ALARM_WINDOW,
      minPredictions: Math.min(e.ALARM_MIN_PREDICTIONS, e.ALARM_WINDOW),
      driftRate: e.ALARM_DRIFT_RATE,
      lowConfidenceRate: e.ALARM_LOW_CONFIDENCE_RATE,
      classMixDistance: e.ALARM_CLASS_MIX_DISTANCE,
      webhook: e.ALARM_WEBHOOK_URL ? { url: e.ALARM_WEBHOOK_URL, retries: e.ALARM_WEBHOOK_RETRIES, timeoutMs: e.ALARM_WEBHOOK_TIMEOUT_MS } : null,
    },
  };
}

/**
 * Next.js and React pick their mode from NODE_ENV: make it match WEB_DEV before `next` is loaded.
 * (Written here so that env.ts stays the one module touching process.env.)
 */
export function applyNodeEnv(env: WebEnv): void {
  (process.env as Record<string, string>).NODE_ENV = env.dev ? 'development' : 'production';
}

/** The environment the embedded runner child inherits (PATH, RUNNER_BACKEND, proxies, …), less the admin password. */
export function inheritedEnv(): Record<string, string | undefined> {
  const { ADMIN_PASSWORD: _secret, ...rest } = process.env;
  return rest;
}
