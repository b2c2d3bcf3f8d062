import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../src', import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'runtime' && dir === srcDir ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('@defectflow/nodes (outside src/runtime)', () => {
  it('imports no node: modules, TensorFlow, the engine (but its import-free decision rule and constants) or the runtime, so the browser can load it', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(srcDir)) {
      const text = readFileSync(file, 'utf8');
      for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
        const spec = match[1] ?? '';
        // @defectflow/engine/decision and /constants are the engine files kept import-free for browsers (the engine's tests check it).
        if (/^node:|^(fs|path|os|crypto|child_process)$|tensorflow|@defectflow\/engine(?!\/(decision|constants)$)|runtime/.test(spec)) {
          offenders.push(`${relative(srcDir, file)}: ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
