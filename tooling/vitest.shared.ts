import { defineConfig } from 'vitest/config';

/** Shared vitest defaults: one fork at a time keeps 2-core CI machines predictable. */
export const sharedTestConfig = defineConfig({
  test: {
    environment: 'node',
    pool: 'forks',
    maxWorkers: 1,
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: process.env.VITEST_JSON_DIR ? ['default', 'json'] : ['default'],
    outputFile: process.env.VITEST_JSON_DIR
      ? { json: `${process.env.VITEST_JSON_DIR}/${process.env.npm_package_name?.replace(/[@/]/g, '_') ?? 'pkg'}.json` }
      : undefined,
  },
});
