#!/usr/bin/env node
/**
 * Builds apps/web (`next build`) when .next is missing or older than its sources; a cheap mtime check,
 * shared by scripts/start.sh and the e2e tests' global setup. `--check` only reports (exit 1 = stale).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'apps/web');
const buildId = join(web, '.next/BUILD_ID');
/** What ends up in Next's bundles: pages and client code, config, and the browser-safe node catalogue. */
const SOURCES = ['apps/web/app', 'apps/web/src', 'apps/web/public', 'apps/web/next.config.ts', 'apps/web/package.json', 'packages/nodes/src'];

function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  let newest = info.mtimeMs;
  for (const entry of readdirSync(path)) {
    if (entry === 'node_modules' || entry.startsWith('.')) continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

export function webBuildIsStale() {
  if (!existsSync(buildId)) return 'apps/web/.next is missing';
  const built = statSync(buildId).mtimeMs;
  for (const source of SOURCES) {
    if (newestMtime(join(root, source)) > built) return `${source} changed since the last build`;
  }
  return null;
}

const LOCK = join(web, '.next-build.lock');

/** One build at a time on this checkout (parallel test runs would delete each other's .next). */
function withBuildLock(fn) {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      // A lock older than 15 minutes belongs to a build that died.
      if (Date.now() - statSync(LOCK).mtimeMs > 15 * 60_000) rmSync(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${LOCK} is held by another build for too long`);
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

export function ensureWebBuild({ log = console.log } = {}) {
  if (!webBuildIsStale()) return false;
  return withBuildLock(() => build(log));
}

function build(log) {
  // Re-check under the lock: another process may have just built it.
  const stale = webBuildIsStale();
  if (!stale) return false;
  log(`[build] building the web app (${stale}); this takes a minute or two…`);
  const nextBin = createRequire(join(web, 'package.json')).resolve('next/dist/bin/next');
  const result = spawnSync(process.execPath, [nextBin, 'build'], {
    cwd: web,
    stdio: 'inherit',
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', NODE_ENV: 'production' },
  });
  if (result.status !== 0) throw new Error(`next build failed (exit ${result.status ?? result.signal})`);
  return true;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = webBuildIsStale();
    console.log(stale ?? 'web build is up to date');
    process.exit(stale ? 1 : 0);
  }
  try {
    ensureWebBuild();
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
