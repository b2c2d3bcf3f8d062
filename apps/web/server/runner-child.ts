/**
 * Entry of the embedded runner child process. It watches its stdin pipe: when the web server goes away
 * (even by SIGKILL, when no exit hook runs) the pipe closes and the runner shuts down instead of being
 * orphaned on its port. Then it runs the runner's own entry unchanged.
 */
process.stdin.on('end', () => {
  process.kill(process.pid, 'SIGTERM');
  setTimeout(() => process.exit(1), 10_000).unref();
});
process.stdin.on('error', () => {});
process.stdin.resume();
// Our stdout/stderr are pipes the web server reads: once it is gone, a log line fails with EPIPE. That must
// not count as a crash of the runner (it failed the running run with "uncaught exception: write EPIPE").
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

await import(new URL('../../runner/src/main.ts', import.meta.url).href);
