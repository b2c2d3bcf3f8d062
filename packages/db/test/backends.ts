/**
 * The backends one suite runs against: PGlite in a temp dir always; PostgreSQL when TEST_DATABASE_URL is set
 * (a fresh database per run, dropped afterwards). In CI the PostgreSQL variant is mandatory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CreateDbOptions } from '../src/index.ts';
import { createFreshDatabase, type FreshDatabase } from '../src/testing.ts';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** Set up storage; returns createDb options that reach it. A name gives a separate store (for reopen tests). */
  prepare(label: string): Promise<CreateDbOptions>;
  cleanup(): Promise<void>;
}

export const HOW_TO_START_POSTGRES =
  'TEST_DATABASE_URL is not set, and CI requires the PostgreSQL variant of the @defectflow/db tests. ' +
  'Run the tests through `npm test` (scripts/test.sh starts the Debian cluster and creates the role), or start PostgreSQL yourself: ' +
  '`pg_ctlcluster 15 main start && su postgres -c "psql -c \\"CREATE ROLE defectflow LOGIN PASSWORD \'defectflow\' CREATEDB\\""` ' +
  'then export TEST_DATABASE_URL=postgres://defectflow:defectflow@127.0.0.1:5432/postgres';

export function pgliteBackend(): Backend {
  let root: string | undefined;
  return {
    name: 'pglite',
    async prepare(label) {
      root ??= mkdtempSync(join(tmpdir(), 'defectflow-db-test-'));
      return { dataDir: join(root, label) };
    },
    async cleanup() {
      if (root) rmSync(root, { recursive: true, force: true });
    },
  };
}

export function postgresBackend(serverUrl: string): Backend {
  const created = new Map<string, FreshDatabase>();
  return {
    name: 'postgres',
    async prepare(label) {
      let fresh = created.get(label);
      if (!fresh) {
        fresh = await createFreshDatabase(serverUrl, `defectflow_t_${label}`);
        created.set(label, fresh);
      }
      return { url: fresh.url };
    },
    async cleanup() {
      for (const fresh of created.values()) await fresh.drop();
    },
  };
}
