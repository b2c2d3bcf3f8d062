#!/usr/bin/env bash
# THE test command (`npm test`): install if needed, make a PostgreSQL server available, then
# typecheck → lint → build the web app → every workspace's tests one after the other.
# Keeps going after a failure and ends with the line `tests: N passed, N failed[, N skipped]`;
# exits non-zero when any step or test failed.
#
# TEST_WORKSPACES="@defectflow/db @defectflow/nodes" limits typecheck, the web build and the tests to
# those workspaces (for quick local runs; CI runs everything).
set -uo pipefail

cd "$(dirname "$0")/.."

# Offline and quiet: no telemetry, no update checks, no remote cache.
export TURBO_TELEMETRY_DISABLED=1 TURBO_NO_UPDATE_NOTIFIER=1 TURBO_REMOTE_CACHE_DISABLED=1 DO_NOT_TRACK=1
export NEXT_TELEMETRY_DISABLED=1 NO_UPDATE_NOTIFIER=1 npm_config_update_notifier=false
export TURBO_UI=false

step() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
FAILED_STEPS=()

# --- dependencies -------------------------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install: older than package-lock.json = stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  # Install scripts stay off: nothing may download at install time, and nothing here needs them.
  if command -v flock >/dev/null 2>&1; then
    flock /tmp/npm.lock npm ci --no-audit --no-fund --ignore-scripts || { echo "npm ci failed" >&2; exit 1; }
  else
    npm ci --no-audit --no-fund --ignore-scripts || { echo "npm ci failed" >&2; exit 1; }
  fi
fi

# --- PostgreSQL for the database tests ----------------------------------------------------------
as_postgres() {
  if [ "$(id -u)" = 0 ]; then
    if command -v runuser >/dev/null 2>&1; then runuser -u postgres -- "$@"; else su postgres -s /bin/sh -c "$(printf '%q ' "$@")"; fi
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n -u postgres -- "$@"
  else
    return 1
  fi
}

ensure_postgres() {
  command -v pg_ctlcluster >/dev/null 2>&1 || { echo "PostgreSQL (pg_ctlcluster) not installed: the PostgreSQL test variant is not run"; return 1; }
  local version port
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  [ -n "$version" ] || { echo "no cluster under /etc/postgresql"; return 1; }
  if [ ! -d "/etc/postgresql/$version/main" ]; then
    pg_createcluster "$version" main >/dev/null || return 1
  fi
  pg_ctlcluster "$version" main start 2>/dev/null || true
  port=$(sed -n 's/^[[:space:]]*port[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "/etc/postgresql/$version/main/postgresql.conf" | head -n 1)
  port=${port:-5432}
  for _ in $(seq 1 30); do
    pg_isready -q -h 127.0.0.1 -p "$port" && break
    sleep 1
  done
  pg_isready -q -h 127.0.0.1 -p "$port" || { echo "PostgreSQL $version did not become ready on port $port"; return 1; }
  # Role and database, idempotently. CREATEDB: the db tests make a fresh database per run.
  as_postgres psql -q -p "$port" -v ON_ERROR_STOP=1 -d postgres <<'SQL' || { echo "could not create the defectflow role/database (need root or sudo)"; return 1; }
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'defectflow') THEN
    CREATE ROLE defectflow LOGIN PASSWORD 'defectflow' CREATEDB;
  ELSE
    ALTER ROLE defectflow LOGIN PASSWORD 'defectflow' CREATEDB;
  END IF;
END $$;
SELECT 'CREATE DATABASE defectflow_test OWNER defectflow'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'defectflow_test') \gexec
SQL
  export TEST_DATABASE_URL="postgres://defectflow:defectflow@127.0.0.1:$port/defectflow_test"
  echo "PostgreSQL $version ready: TEST_DATABASE_URL=$TEST_DATABASE_URL"
}

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  step "PostgreSQL"
  ensure_postgres || echo "TEST_DATABASE_URL stays unset (with CI=true the PostgreSQL tests will fail and say how to fix it)"
fi
# The fault suite (tests/test/faults-postgres.e2e.test.ts) stops and restarts a PostgreSQL server of its own
# (initdb + pg_ctl in a temp folder, as the postgres user when root): it needs the server binaries.
if [ -z "${TEST_PG_BINDIR:-}" ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$pg_bin" ] && [ -x "$pg_bin/initdb" ]; then export TEST_PG_BINDIR="$pg_bin"; fi
fi

# --- typecheck, lint, build ---------------------------------------------------------------------
selected() { [ -z "${TEST_WORKSPACES:-}" ] || [[ " $TEST_WORKSPACES " == *" $1 "* ]]; }
TURBO_FILTERS=()
for ws in ${TEST_WORKSPACES:-}; do TURBO_FILTERS+=("--filter=$ws"); done

step "typecheck"
npx turbo run typecheck "${TURBO_FILTERS[@]}" --continue=always --concurrency=2 --log-order=grouped --output-logs=errors-only ||
  FAILED_STEPS+=(typecheck)

step "lint"
# Errors only, to keep the log readable; `npm run lint` shows the warnings too.
npx biome lint . --diagnostic-level=error || FAILED_STEPS+=(lint)

if compgen -G "apps/web/next.config.*" >/dev/null && selected @defectflow/web; then
  step "build @defectflow/web"
  npm run build -w @defectflow/web || FAILED_STEPS+=(build)
fi

# --- tests, one workspace at a time ------------------------------------------------------------
REPORTS=$(mktemp -d "${TMPDIR:-/tmp}/defectflow-test-reports.XXXXXX")
trap 'rm -rf "$REPORTS"' EXIT
export VITEST_JSON_DIR="$REPORTS"
RESULTS=()
mapfile -t WORKSPACES < <(node scripts/list-test-workspaces.mjs)
for entry in "${WORKSPACES[@]}"; do
  name=${entry%%$'\t'*}
  dir=${entry#*$'\t'}
  selected "$name" || continue
  step "test $name ($dir)"
  # A hung suite must not hang CI forever; stdin closed so no test can wait on a terminal.
  (cd "$dir" && timeout --kill-after=30 "${TEST_WORKSPACE_TIMEOUT:-2400}" npm run test </dev/null)
  RESULTS+=("$name=$?")
done

step "summary"
if [ ${#FAILED_STEPS[@]} -gt 0 ]; then echo "failed steps: ${FAILED_STEPS[*]}"; fi
node scripts/summarize-tests.mjs "$REPORTS" "${RESULTS[@]}"
TESTS_RC=$?
[ "$TESTS_RC" -eq 0 ] && [ ${#FAILED_STEPS[@]} -eq 0 ]
