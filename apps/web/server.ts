/**
 * defectflow web server entry (`tsx server.ts`, or `npm start` at the repo root which builds first).
 * Next.js pages + tRPC at /api/trpc + socket.io, and the embedded runner unless RUNNER_URL is set.
 */
import { applyNodeEnv, EnvError, inheritedEnv, loadEnv, type WebEnv } from './server/env.ts';

async function main(): Promise<void> {
  let env: WebEnv;
  try {
    env = loadEnv();
  } catch (err) {
    console.error(err instanceof EnvError ? err.message : err);
    process.exit(1);
  }
  applyNodeEnv(env);
  // Imported after NODE_ENV is settled: Next and React read it when they load.
  const { startWebServer, NotBuiltError } = await import('./server/app.ts');

  let server: Awaited<ReturnType<typeof startWebServer>>;
  try {
    server = await startWebServer(env, { childEnv: inheritedEnv() });
  } catch (err) {
    if (err instanceof NotBuiltError) console.error(err.message);
    else console.error('[web] failed to start:', err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  }
  console.log(`defectflow web on ${server.url}`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      console.log(`[web] ${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    console.log(`[web] ${signal}: shutting down…`);
    const force = setTimeout(() => {
      console.error('[web] shutdown took over 20 s; exiting');
      process.exit(1);
    }, 20_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error('[web] shutdown error:', err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
