export { BACKEND_PREFERENCES, type BackendPreference, findRepoRoot, type RunnerEnv, readEnv } from './env.ts';
export { EventLog, RUN_ID_PATTERN } from './event-log.ts';
export type { RunnerBackend } from './backend.ts';
export { RunQueue } from './queue.ts';
export type { RunnerCapabilities, RunnerRouter, StartRunResult } from './router.ts';
export { createRunnerServer, type ExecuteFn, type RunnerServer, type RunnerServerOptions } from './server.ts';
export type { SubscribeAllPayload, SubscribePayload } from './sockets.ts';
export * from './predict/index.ts';
