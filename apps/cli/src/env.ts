import path from 'node:path';
import { z } from 'zod';

/** The only place the CLI reads process.env. */
const EnvSchema = z.object({
  DATA_DIR: z.string().min(1).default('.defectflow'),
  DATASETS_ROOT: z.string().min(1).optional(),
  DEFECTFLOW_BACKEND: z.enum(['auto', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /** Node outputs a sweep keeps between its trials (the shared upstream, recent trained models); older ones are freed. */
  OUTPUT_CACHE_ENTRIES: z.coerce.number().int().min(0).max(10_000).default(32),
});

export interface CliEnv {
  dataDir: string;
  datasetsRoot: string;
  backend: 'auto' | 'tensorflow' | 'wasm' | 'cpu';
  /** OUTPUT_CACHE_ENTRIES. */
  outputCacheEntries: number;
}

export function readCliEnv(source: NodeJS.ProcessEnv = process.env): CliEnv {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`Invalid environment variable ${String(issue?.path[0])}: ${issue?.message}`);
  }
  const dataDir = path.resolve(parsed.data.DATA_DIR);
  return {
    dataDir,
    datasetsRoot: path.resolve(parsed.data.DATASETS_ROOT ?? path.join(dataDir, 'datasets')),
    backend: parsed.data.DEFECTFLOW_BACKEND,
    outputCacheEntries: parsed.data.OUTPUT_CACHE_ENTRIES,
  };
}
