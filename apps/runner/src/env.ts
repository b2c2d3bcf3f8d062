import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/** The runner's configuration. This module is the only reader of process.env in apps/runner. */
export const BACKEND_PREFERENCES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendPreference = (typeof BACKEND_PREFERENCES)[number];

const EnvSchema = z.object({
  RUNNER_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  RUNNER_HOST: z.string().min(1).default('127.0.0.1'),
  RUNNER_TOKEN: z
    .string({ error: 'RUNNER_TOKEN is required (a shared secret of at least 16 characters)' })
    .min(16, 'RUNNER_TOKEN must be at least 16 characters long'),
  DATA_DIR: z.string().min(1).default('./.defectflow'),
  DATASETS_ROOT: z.string().min(1).optional(),
  RUNNER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  RUNNER_BACKEND: z.enum(BACKEND_PREFERENCES).optional(),
});

export interface RunnerEnv {
  port: number;
  host: string;
  token: string;
  dataDir: string;
  datasetsRoot: string;
  concurrency: number;
  backend?: BackendPreference;
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
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new Error(`Invalid runner environment:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const root = findRepoRoot();
  const dataDir = path.resolve(root, env.DATA_DIR);
  return {
    port: env.RUNNER_PORT,
    host: env.RUNNER_HOST,
    token: env.RUNNER_TOKEN,
    dataDir,
    datasetsRoot: env.DATASETS_ROOT ? path.resolve(root, env.DATASETS_ROOT) : path.join(dataDir, 'datasets'),
    concurrency: env.RUNNER_CONCURRENCY,
    backend: env.RUNNER_BACKEND,
  };
}
