#!/usr/bin/env node
// Prints "NAME<TAB>DIR" for every workspace with a "test" script: libraries first, then apps, then tests/
// (end-to-end last, as it needs everything else working).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const dirs = [];
for (const group of ['packages', 'apps']) {
  const base = join(root, group);
  if (!existsSync(base)) continue;
  for (const name of readdirSync(base).sort()) dirs.push(join(group, name));
}
dirs.push('tests');

for (const dir of dirs) {
  const file = join(root, dir, 'package.json');
  if (!existsSync(file)) continue;
  const pkg = JSON.parse(readFileSync(file, 'utf8'));
  if (pkg.scripts?.test) console.log(`${pkg.name}\t${dir}`);
}
