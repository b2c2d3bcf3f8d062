import { mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../tooling/vitest.shared.ts';

export default mergeConfig(sharedTestConfig, {});
