import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { hasImageExtension } from '../../src/constants.ts';

describe('constants (@defectflow/engine/constants)', () => {
  it('stays import-free so the node catalogue and the browser can load it', () => {
    const src = readFileSync(new URL('../../src/constants.ts', import.meta.url), 'utf8');
    expect(src).not.toMatch(/^\s*import\s/m);
    expect(src).not.toMatch(/require\(|from\s+['"]/);
  });

  it('knows the image files the loaders read, in any case, and no others (.gif is not one)', () => {
    expect(['a.PNG', 'b.jpeg', 'c.tif', 'd.webp', 'x/y.bmp'].map(hasImageExtension)).toEqual([true, true, true, true, true]);
    expect(['a.gif', 'labels.csv', 'png', '.png', 'a.png.txt'].map(hasImageExtension)).toEqual([false, false, false, false, false]);
  });
});
