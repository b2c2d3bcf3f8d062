import { mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../tooling/vitest.shared.ts';

/** End-to-end: real processes and a browser, one file at a time, generous timeouts. */
export default mergeConfig(sharedTestConfig, {
  test: {
    globalSetup: ['./global-setup.ts'],
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
});
