import { existsSync, readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcDir = fileURLToPath(new URL('../src', import.meta.url));
const entry = resolve(srcDir, 'index.ts');

/** Import and export specifiers of a file (static, re-export and dynamic). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] ?? '');
}

/** Every source file the browser entry loads, following relative imports. */
function reachableFromEntry(): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of specifiers(file)) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      if (existsSync(target)) queue.push(target);
    }
  }
  return [...seen];
}

describe('@defectflow/nodes (the browser entry, src/index.ts, and everything it imports)', () => {
  const files = reachableFromEntry();

  it('reaches the node folders but never their run functions or the runtime', () => {
    const names = files.map((f) => relative(srcDir, f));
    expect(names).toContain('nodes/index.ts');
    expect(names).toContain('nodes/train/definition.ts');
    expect(names.filter((n) => /(^|\/)run\.ts$|^runtime\//.test(n))).toEqual([]);
  });

  it('imports no node: modules, TensorFlow, the engine (but its import-free decision rule and constants) or the runtime, so the browser can load it', () => {
    const offenders: string[] = [];
    for (const file of files) {
      for (const spec of specifiers(file)) {
        // @defectflow/engine/decision and /constants are the engine files kept import-free for browsers (the engine's tests check it).
        if (/^node:|^(fs|path|os|crypto|child_process)$|tensorflow|@defectflow\/engine(?!\/(decision|constants)$)|runtime|run\.ts$/.test(spec)) {
          offenders.push(`${relative(srcDir, file)}: ${spec}`);
        }
      }
    }
    expect(offenders).toEqual([]);
  });
});
