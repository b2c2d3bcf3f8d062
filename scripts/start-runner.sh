#!/usr/bin/env bash
# A runner process on this machine. Cluster mode (docs/SCALING.md): `REDIS_URL=redis://queue-host:6379 bash
# scripts/start-runner.sh` takes runs from the shared queue (RUNNER_ID names it; DATA_DIR holds its caches). Without
# REDIS_URL it serves one web server (RUNNER_TOKEN, RUNNER_PORT; the web server's RUNNER_URL points at it).
# The systemd unit deploy/systemd/defectflow-runner@.service runs this script; so does the cluster test.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[start-runner] installing dependencies (npm ci)…"
  npm ci --no-audit --no-fund --ignore-scripts
fi

cd apps/runner
# One process (no tsx CLI wrapper): SIGTERM reaches the runner, which ends its runs and leaves the queue.
exec node --import tsx src/main.ts
