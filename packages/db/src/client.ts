/**
 * createDb(): one drizzle API over two drivers.
 * - no url → PGlite (embedded PostgreSQL in WASM) persisted at `${dataDir}/pg`, single process only;
 * - url    → a PostgreSQL server through postgres.js.
 * The committed migrations in ../drizzle are applied on every open (drizzle records what ran, so it is idempotent).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { acquireDirLock } from './lock.ts';
import * as schema from './schema.ts';
import { createRepositories, type Repositories } from './repo/index.ts';

export type Schema = typeof schema;
/** The drizzle database both drivers satisfy; repositories take this. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
export type DbKind = 'pglite' | 'postgres';

/** Folder of the committed SQL migrations, found relative to this file so any cwd works. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../drizzle', import.meta.url));

export interface CreateDbOptions {
  /** PostgreSQL connection string (DATABASE_URL). When set, PGlite is not used. */
  url?: string;
  /** DATA_DIR: PGlite lives in `${dataDir}/pg`. Required when url is unset (unless inMemory). */
  dataDir?: string;
  /** PGlite in memory only (tests). Ignored when url is set. */
  inMemory?: boolean;
  /** Override where migrations are read from (e.g. when bundled and import.meta.url is unusable). */
  migrationsFolder?: string;
  /** postgres.js pool size (default 10). */
  maxConnections?: number;
}

export interface DbHandle {
  db: Db;
  kind: DbKind;
  /** Bound repository functions (same as createRepositories(db)). */
  repo: Repositories;
  /**
   * Runs `fn` while no other process runs one under the same name on this database (PostgreSQL: a session advisory
   * lock on a connection of its own; PGlite has one process already): start-up steps of web servers started at once.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export async function createDb(options: CreateDbOptions = {}): Promise<DbHandle> {
  const migrationsFolder = options.migrationsFolder ?? MIGRATIONS_DIR;
  if (options.url) return openPostgres(options.url, migrationsFolder, options.maxConnections ?? 10);
  if (options.inMemory) return openPglite(undefined, migrationsFolder);
  if (!options.dataDir) {
    throw new Error('createDb: set url (DATABASE_URL) for PostgreSQL, or dataDir (DATA_DIR) for the embedded PGlite database.');
  }
  return openPglite(resolve(options.dataDir), migrationsFolder);
}

async function openPostgres(url: string, migrationsFolder: string, max: number): Promise<DbHandle> {
  // Notices ("relation already exists, skipping") would spam the console on every start.
  const client = postgres(url, { max, onnotice: () => {} });
  const db = drizzlePostgres({ client, schema });
  const exclusive = <T>(name: string, fn: () => Promise<T>) => exclusiveOnPostgres(url, name, fn);
  try {
    // Servers started at once on a fresh database would each create the tables and collide in the catalog
    // ("duplicate key value violates unique constraint pg_type_typname_nsp_index"): one migrates, the others wait.
    await exclusive('migrate', () => migratePostgres(db, { migrationsFolder }));
  } catch (err) {
    await client.end({ timeout: 5 });
    throw new Error(`Could not open PostgreSQL at ${redactUrl(url)} (DATABASE_URL): ${describe(err)}`, { cause: err });
  }
  return {
    db,
    kind: 'postgres',
    repo: createRepositories(db),
    exclusive,
    close: () => client.end({ timeout: 5 }),
  };
}

/** A connection of its own (whatever the pool's size) holds the lock; it ends with that session, also on a throw. */
async function exclusiveOnPostgres<T>(url: string, name: string, fn: () => Promise<T>): Promise<T> {
  const lock = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await lock`select pg_advisory_lock(hashtext(${`defectflow:${name}`}))`;
    return await fn();
  } finally {
    await lock.end({ timeout: 5 });
  }
}

async function openPglite(dataDir: string | undefined, migrationsFolder: string): Promise<DbHandle> {
  let release = () => {};
  let pgDir: string | undefined;
  if (dataDir) {
    mkdirSync(dataDir, { recursive: true });
    pgDir = join(dataDir, 'pg');
    release = await acquireDirLock(pgDir, join(dataDir, 'pg.lock'));
  }
  let client: PGlite | undefined;
  try {
    client = new PGlite(pgDir);
    await client.waitReady;
    const db = drizzlePglite({ client, schema });
    await migratePglite(db, { migrationsFolder });
    const opened = client;
    let closed = false;
    return {
      db,
      kind: 'pglite',
      repo: createRepositories(db),
      exclusive: (_name, fn) => fn(),
      async close() {
        if (closed) return;
        closed = true;
        try {
          await opened.close();
        } finally {
          release();
        }
      },
    };
  } catch (err) {
    await client?.close().catch(() => {});
    release();
    throw new Error(`Could not open the embedded database (PGlite) at ${pgDir ?? 'memory'}: ${describe(err)}`, {
      cause: err,
    });
  }
}

/** Drizzle wraps driver errors as "Failed query: <the whole SQL>"; the driver's own message is what helps. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.cause instanceof Error) return err.cause.message;
  return err.message.length > 500 ? `${err.message.slice(0, 500)}…` : err.message;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}
