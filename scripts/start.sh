#!/usr/bin/env bash
# defectflow: one command from a fresh clone to a running app (`npm start`).
# Installs dependencies when missing or stale, builds the web app when its sources changed, then runs the
# web server, which opens the database (PGlite in ./.defectflow unless DATABASE_URL), seeds it, spawns
# the runner (unless RUNNER_URL) and generates the sample dataset on first start. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

export NEXT_TELEMETRY_DISABLED=1

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[start] installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund
fi

node scripts/ensure-web-build.mjs

cd apps/web
# One process (no tsx CLI wrapper) so Ctrl-C and SIGTERM reach the server's shutdown handler directly.
exec node --import tsx server.ts
