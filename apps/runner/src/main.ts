import { readEnv, type RunnerEnv } from './env.ts';
import { startRunnerProcess } from './process.ts';

/** Runner process entry: `npm start -w @defectflow/runner` (tsx src/main.ts). */
let env: RunnerEnv;
try {
  env = readEnv();
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}

startRunnerProcess(env).catch((err: unknown) => {
  console.error('[runner] failed to start:', err);
  process.exit(1);
});
