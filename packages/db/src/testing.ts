/**
 * Test helper: a fresh, empty PostgreSQL database on the server of TEST_DATABASE_URL (the role needs CREATEDB),
 * so reruns never see data from an earlier run. drop() removes it.
 */
import postgres from 'postgres';

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createFreshDatabase(serverUrl: string, prefix = 'defectflow_t'): Promise<FreshDatabase> {
  const name = `${prefix}_${process.pid}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 6)}`
    .replace(/[^a-z0-9_]/gi, '_')
    .toLowerCase()
    .slice(0, 63);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } catch (err) {
    throw new Error(
      `Could not create test database ${name} on ${new URL(serverUrl).host} (the role in TEST_DATABASE_URL needs CREATEDB): ${(err as Error).message}`,
    );
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const dropper = postgres(serverUrl, { max: 1, onnotice: () => {} });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end({ timeout: 5 });
      }
    },
  };
}
