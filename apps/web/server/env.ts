/**
 * The web server's configuration: the only module of apps/web that reads process.env.
 * Every variable is validated with zod; a bad one stops the start with a message naming it.
 */
import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** Repository root (apps/web/server → ../../..): relative DATA_DIR values resolve here, not against the cwd. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
/** The Next.js project folder (apps/web). */
export const WEB_DIR = fileURLToPath(new URL('../', import.meta.url));

const flag = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', ''])
  .optional()
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const port = z.coerce.number().int().min(0).max(65535);

const EnvSchema = z
  .object({
    PORT: port.default(3000),
    HOST: z.string().min(1).default('127.0.0.1'),
    DATA_DIR: z.string().min(1).default('./.defectflow'),
    DATASETS_ROOT: z.string().min(1).optional(),
    DATABASE_URL: z.string().url().optional(),
    RUNNER_URL: z.string().url().optional(),
    RUNNER_TOKEN: z.string().min(16, 'must be at least 16 characters (the runner refuses shorter tokens)').optional(),
    /** Port for the embedded runner child; 0 picks a free one. */
    RUNNER_PORT: port.default(3100),
    NODE_ENV: z.enum(['development', 'production', 'test']).optional(),
    /** Serve pages with `next dev` (hot reload) instead of the built .next folder. */
    WEB_DEV: flag,
    /** Skip generating the sample dataset on start (tests that do not need it). */
    SKIP_SAMPLE_DATA: flag,
  })
  .superRefine((env, ctx) => {
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
  /** Set: connect to an external runner. Unset: spawn the embedded one. */
  runnerUrl?: string;
  runnerToken: string;
  runnerPort: number;
  nodeEnv: 'development' | 'production' | 'test';
  dev: boolean;
  skipSampleData: boolean;
}

export class EnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvError';
  }
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
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir,
    datasetsRoot: e.DATASETS_ROOT ? absolute(e.DATASETS_ROOT, REPO_ROOT) : resolve(dataDir, 'datasets'),
    modelsDir: resolve(dataDir, 'models'),
    databaseUrl: e.DATABASE_URL,
    runnerUrl: e.RUNNER_URL,
    // Embedded mode: a fresh random token per start; only this process and its child know it.
    runnerToken: e.RUNNER_TOKEN ?? randomBytes(24).toString('hex'),
    runnerPort: e.RUNNER_PORT,
    nodeEnv: e.NODE_ENV ?? (e.WEB_DEV ? 'development' : 'production'),
    dev: e.WEB_DEV,
    skipSampleData: e.SKIP_SAMPLE_DATA,
  };
}

/**
 * Next.js and React pick their mode from NODE_ENV: make it match WEB_DEV before `next` is loaded.
 * (Written here so that env.ts stays the one module touching process.env.)
 */
export function applyNodeEnv(env: WebEnv): void {
  (process.env as Record<string, string>).NODE_ENV = env.dev ? 'development' : 'production';
}

/** The environment the embedded runner child inherits (PATH, RUNNER_BACKEND, proxies, …). */
export function inheritedEnv(): Record<string, string | undefined> {
  return { ...process.env };
}
