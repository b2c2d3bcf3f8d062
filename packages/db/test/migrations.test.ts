import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR } from '../src/index.ts';

const run = promisify(execFile);
const pkgDir = join(import.meta.dirname, '..');

describe('committed migrations', () => {
  it('match src/schema.ts (run `npm run generate -w @defectflow/db` after changing the schema)', async () => {
    const copy = mkdtempSync(join(tmpdir(), 'defectflow-migrations-'));
    try {
      cpSync(MIGRATIONS_DIR, copy, { recursive: true });
      const before = readdirSync(copy).sort();
      // drizzle-kit wants the output folder relative to the cwd.
      const out = relative(pkgDir, copy);
      const bin = join(pkgDir, '../../node_modules/.bin/drizzle-kit');
      const { stdout } = await run(bin, ['generate', '--dialect', 'postgresql', '--schema', './src/schema.ts', '--out', out], {
        cwd: pkgDir,
      });
      expect(readdirSync(copy).sort()).toEqual(before);
      expect(stdout).toContain('No schema changes');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });
});
