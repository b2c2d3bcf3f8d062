import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ArchiveError, type ArchiveLimits, DEFAULT_ARCHIVE_LIMITS, extractZipSafely } from '../server/datasets/archive.ts';
import { tempDir } from './helpers.ts';
import { type FixtureEntry, makeZip } from './zip-fixture.ts';

function zipFile(entries: FixtureEntry[]): string {
  const file = join(tempDir('df-zip-'), 'upload.zip');
  writeFileSync(file, makeZip(entries));
  return file;
}

async function refusal(entries: FixtureEntry[], limits: Partial<ArchiveLimits> = {}): Promise<{ error: ArchiveError; dest: string }> {
  const dest = join(tempDir('df-out-'), 'out');
  const error = await extractZipSafely(zipFile(entries), dest, { ...DEFAULT_ARCHIVE_LIMITS, ...limits }).then(
    () => {
      throw new Error('expected the archive to be refused');
    },
    (err: unknown) => err as ArchiveError,
  );
  expect(error).toBeInstanceOf(ArchiveError);
  return { error, dest };
}

/** Nothing at all was written: refusal happens before extraction. */
function nothingWritten(dest: string): void {
  expect(existsSync(dest) ? readdirSync(dest, { recursive: true }) : []).toEqual([]);
}

describe('safe zip extraction', () => {
  it('extracts regular files and folders, skipping archive litter', async () => {
    const dest = join(tempDir('df-out-'), 'out');
    const result = await extractZipSafely(
      zipFile([
        { name: 'ok/' },
        { name: 'ok/a.png', data: 'A' },
        { name: 'scratch/b.png', data: 'B'.repeat(5000), deflate: true },
        { name: '__MACOSX/ok/._a.png', data: 'junk' },
      ]),
      dest,
    );
    expect(result.files).toBe(2);
    expect(readFileSync(join(dest, 'ok/a.png'), 'utf8')).toBe('A');
    expect(readFileSync(join(dest, 'scratch/b.png'), 'utf8')).toBe('B'.repeat(5000));
    expect(existsSync(join(dest, '__MACOSX'))).toBe(false);
  });

  it('refuses an entry that climbs out with ".." and names it', async () => {
    const { error, dest } = await refusal([{ name: 'ok/a.png', data: 'A' }, { name: 'ok/../../evil.png', data: 'x' }]);
    expect(error.code).toBe('unsafe_path');
    expect(error.message).toContain('evil.png');
    nothingWritten(dest);
    expect(existsSync(join(dest, '..', 'evil.png'))).toBe(false);
  });

  it('refuses an absolute path entry', async () => {
    const { error, dest } = await refusal([{ name: '/tmp/evil.png', data: 'x' }]);
    expect(error.code).toBe('unsafe_path');
    expect(error.message).toContain('/tmp/evil.png');
    nothingWritten(dest);
  });

  it('refuses a symlink entry', async () => {
    const { error, dest } = await refusal([
      { name: 'ok/a.png', data: 'A' },
      { name: 'ok/link.png', data: '/etc/passwd', mode: 0o120777 },
    ]);
    expect(error.code).toBe('link_entry');
    expect(error.message).toContain('ok/link.png');
    nothingWritten(dest);
  });

  it('refuses archives that unpack to more than the size limit', async () => {
    const { error, dest } = await refusal(
      [
        { name: 'a/1.png', data: Buffer.alloc(600, 1) },
        { name: 'a/2.png', data: Buffer.alloc(600, 2) },
      ],
      { maxBytes: 1000 },
    );
    expect(error.code).toBe('too_large');
    expect(error.message).toMatch(/more than 1000 B/);
    nothingWritten(dest);
  });

  it('refuses archives with too many entries', async () => {
    const entries = Array.from({ length: 6 }, (_, i) => ({ name: `a/${i}.png`, data: `${i}` }));
    const { error, dest } = await refusal(entries, { maxFiles: 5 });
    expect(error.code).toBe('too_many_files');
    expect(error.message).toContain('6 entries; the limit is 5');
    nothingWritten(dest);
  });

  it('refuses a zip bomb by its compression ratio', async () => {
    const { error, dest } = await refusal([{ name: 'a/zeros.png', data: Buffer.alloc(20 * 1024 * 1024), deflate: true }]);
    expect(error.code).toBe('bomb');
    expect(error.message).toContain('a/zeros.png');
    nothingWritten(dest);
  });

  it('refuses a file that is not a zip', async () => {
    const file = join(tempDir('df-zip-'), 'x.zip');
    writeFileSync(file, 'not a zip at all');
    await expect(extractZipSafely(file, join(tempDir('df-out-'), 'out'))).rejects.toMatchObject({ code: 'invalid_archive' });
  });
});
