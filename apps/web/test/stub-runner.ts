/**
 * A real runner in-process (real tRPC + socket.io, stub backend, no log output) and the web server's link to it,
 * for tests of the web side against a runner. Its own file: only those tests load the runner package.
 */
import { join } from 'node:path';
import { createRunnerServer, type ExecuteFn, type RunnerServer, type RunnerServerOptions } from '@defectflow/runner';
import { connectRunner, type RunnerLink } from '../server/runner-link.ts';

/** Runs execute `executeFn`; DATA_DIR is `dataDir`, the datasets its `datasets` folder. */
export async function startStubRunner(
  token: string,
  dataDir: string,
  executeFn: ExecuteFn,
  options: Pick<RunnerServerOptions, 'concurrency' | 'maxQueued'> = {},
): Promise<{ runner: RunnerServer; link: RunnerLink }> {
  const runner = await createRunnerServer({
    port: 0,
    host: '127.0.0.1',
    token,
    dataDir,
    datasetsRoot: join(dataDir, 'datasets'),
    ...options,
    backend: { name: 'stub', device: 'test' },
    log: () => {},
    executeFn,
  });
  return { runner, link: connectRunner({ url: runner.url, token }) };
}
