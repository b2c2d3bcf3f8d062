import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { createDb, DatabaseLockedError } from '../src/index.ts';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'defectflow-db-lock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function openInChild(dataDir: string) {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/open-db.ts'), dataDir], {
    cwd: import.meta.dirname,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { ok: boolean; name?: string; message?: string; productLines?: string[] };
}

describe('PGlite single-process lock', () => {
  it('refuses a second opener of the same directory with a clear error, and frees it on close', async () => {
    const dataDir = join(root, 'shared');
    const first = await createDb({ dataDir });
    await first.repo.productLines.create('Held');

    await expect(createDb({ dataDir })).rejects.toBeInstanceOf(DatabaseLockedError);
    const child = await openInChild(dataDir);
    expect(child.ok).toBe(false);
    expect(child.name).toBe('DatabaseLockedError');
    expect(child.message).toContain(`already open by process ${process.pid}`);
    expect(child.message).toContain('DATABASE_URL');

    await first.close();
    expect(existsSync(join(dataDir, 'pg.lock'))).toBe(false);
    expect(await openInChild(dataDir)).toEqual({ ok: true, productLines: ['Held'] });
  });

  it('takes over a lock left by a process that died', async () => {
    const dataDir = join(root, 'stale');
    const first = await createDb({ dataDir });
    await first.close();
    // A pid that cannot be alive: the kernel limit is far below it.
    writeFileSync(
      join(dataDir, 'pg.lock'),
      JSON.stringify({ pid: 2 ** 30, hostname: (await import('node:os')).hostname(), startedAt: '2020-01-01' }),
    );
    const again = await createDb({ dataDir });
    expect(again.kind).toBe('pglite');
    await again.close();
  });
});
