import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { defineConfig } from 'vitest/config';

/**
 * scripts/test.sh sets VITEST_JSON_DIR so every package also writes a JSON report, named after the
 * package (read from the package.json in the cwd, where vitest runs), that the closing summary counts.
 */
function jsonReportFile(dir: string): string {
  let name = basename(process.cwd());
  const pkg = join(process.cwd(), 'package.json');
  if (existsSync(pkg)) name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name ?? name;
  return join(dir, `${name.replace(/[@/]/g, '_').replace(/^_+/, '')}.json`);
}

const jsonDir = process.env.VITEST_JSON_DIR;

/** Shared vitest defaults: one fork at a time keeps 2-core CI machines predictable. */
export const sharedTestConfig = defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: jsonDir ? ['default', 'json'] : ['default'],
    outputFile: jsonDir ? { json: jsonReportFile(jsonDir) } : undefined,
  },
});
