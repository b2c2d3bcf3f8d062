import { clusterArtifacts } from './cluster/artifacts.ts';
import type { RunnerEnv } from './env.ts';
import { createRunnerStore, runnerCasDir } from './storage.ts';
import { createRunnerServer, type RunnerServer, type RunnerServerOptions } from './server.ts';

/** Exit status when a cancelled run would not stop (EX_TEMPFAIL: try again, i.e. restart). */
export const STUCK_EXIT_CODE = 75;

/**
 * Runs the runner as a process: serves, survives uncaught errors by failing the running run, and on
 * SIGTERM/SIGINT cancels runs (each gets its final run.finished in the log), closes sockets and exits 0.
 * `overrides` exists for tests that spawn a runner with stub node functions.
 */
export async function startRunnerProcess(
  env: RunnerEnv,
  overrides: Partial<RunnerServerOptions> = {},
): Promise<RunnerServer> {
  const { cluster, ...rest } = env;
  // Cluster mode with a shared store: runs, datasets and models reach this machine through it (cluster/artifacts.ts).
  const artifacts =
    cluster && env.storage
      ? clusterArtifacts(createRunnerStore(env), { dataDir: env.dataDir, datasetsRoot: env.datasetsRoot, casDir: runnerCasDir(env), cacheMaxBytes: env.blobCacheMaxBytes })
      : null;
  if (cluster && !env.storage) {
    console.warn(
      '[runner] cluster mode without STORAGE_URL: datasets must already be in DATASETS_ROOT here, and the web servers cannot read this runner\'s run files or models; set STORAGE_URL as on the web servers',
    );
  }
  const server = await createRunnerServer({
    ...rest,
    ...(cluster ? { cluster: { ...cluster, ...(artifacts ? { beforeAppend: artifacts.beforeAppend, prepareRun: artifacts.prepareRun } : {}) } } : {}),
    ...(artifacts
      ? { ensureModel: (modelId: string) => artifacts.ensureModel(modelId), ensureBackbone: (name: string) => artifacts.ensureBackbone(name) }
      : {}),
    backend: env.backend ?? 'auto',
    // A run that keeps computing after its end cannot be stopped from JS: restart on a clean process
    // (the web server, or the supervisor of a remote runner, starts it again) rather than run beside it.
    onStuckRun: (_runId, reason) => {
      console.error(`[runner] ${reason}; exiting with code ${STUCK_EXIT_CODE} so that the runner is restarted`);
      // A moment for the final events to leave on the sockets (they are in events.jsonl either way).
      setTimeout(() => process.exit(STUCK_EXIT_CODE), 200).unref();
    },
    ...overrides,
  });
  console.log(`runner listening on ${server.url} (backend: ${server.backend.name}, ${server.backend.device})`);

  // A bug outside the executor's own try/catch must not take the runner down: fail the run, keep serving.
  const onCrash = (kind: string) => (reason: unknown) => {
    console.error(`[runner] ${kind}:`, reason);
    const message = reason instanceof Error ? reason.message : String(reason);
    const failed = server.failRunning(`${kind}: ${message}`);
    if (failed.length) console.error(`[runner] marked failed: ${failed.join(', ')}`);
  };
  process.on('uncaughtException', onCrash('uncaught exception'));
  process.on('unhandledRejection', onCrash('unhandled rejection'));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`runner: ${signal} received, cancelling runs and closing`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('[runner] error while closing:', err);
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return server;
}
