import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/** A child process that opens the database and holds it; resolves with its pid once it does. */
function holdInChild(dataDir: string): { child: ChildProcess; pid: Promise<number> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures/hold-db.ts'), dataDir], {
    cwd: import.meta.dirname,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  holders.push(child);
  const pid = new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { pid: number }).pid);
    });
    child.once('exit', (code) => reject(new Error(`the holder exited (${code}) before opening the database`)));
  });
  return { child, pid };
}
const holders: ChildProcess[] = [];
afterAll(() => {
  for (const child of holders) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

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

  it('between two other processes: the second opener is refused, naming the pid of the holder', async () => {
    const dataDir = join(root, 'two-children');
    const holder = holdInChild(dataDir);
    const pid = await holder.pid;
    const second = await openInChild(dataDir);
    expect(second).toMatchObject({ ok: false, name: 'DatabaseLockedError' });
    expect(second.message).toContain(`already open by process ${pid}`);
    holder.child.kill('SIGKILL');
  });

  it('is free the moment its holder is SIGKILLed, even when the pid in the lock file is alive again', async () => {
    const dataDir = join(root, 'killed');
    const holder = holdInChild(dataDir);
    const pid = await holder.pid;
    await expect(createDb({ dataDir })).rejects.toBeInstanceOf(DatabaseLockedError);
    const exited = new Promise((resolve) => holder.child.once('exit', resolve));
    holder.child.kill('SIGKILL');
    await exited;
    // The killed holder's note stays behind. Make it name a live process, as when the pid is reused:
    // a pid-file lock would now look held; the kernel released the real one with the process.
    const note = join(dataDir, 'pg.lock');
    expect(JSON.parse(readFileSync(note, 'utf8'))).toMatchObject({ pid });
    writeFileSync(note, JSON.stringify({ pid: process.ppid, hostname: (await import('node:os')).hostname(), startedAt: '2020-01-01' }));
    const again = await createDb({ dataDir });
    expect((await again.repo.productLines.list()).map((l) => l.name)).toEqual([`held by ${pid}`]);
    await again.close();
  });
});
