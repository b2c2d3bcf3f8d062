import fs from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathOutsideRootError, resolveInsideRoot } from '../../src/data/index.ts';
import { makeTempDir } from './helpers.ts';

describe('resolveInsideRoot', () => {
  let base: string;
  let root: string;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    ({ dir: base, cleanup } = await makeTempDir('paths'));
    root = path.join(base, 'datasets');
    await fs.mkdir(path.join(root, 'steel', 'scratches'), { recursive: true });
    await fs.writeFile(path.join(root, 'steel', 'scratches', 'a.png'), 'x');
    await fs.mkdir(path.join(base, 'secret'));
    await fs.writeFile(path.join(base, 'secret', 'key.txt'), 'top secret');
    await fs.symlink(path.join(base, 'secret'), path.join(root, 'escape-dir'));
    await fs.symlink(path.join(base, 'secret', 'key.txt'), path.join(root, 'steel', 'escape.png'));
    await fs.symlink(path.join(root, 'steel'), path.join(root, 'alias'));
    await fs.symlink(root, path.join(base, 'root-link'));
  });
  afterAll(() => cleanup());

  it('resolves relative paths inside the root to absolute paths', () => {
    expect(resolveInsideRoot(root, 'steel/scratches/a.png')).toBe(path.join(root, 'steel', 'scratches', 'a.png'));
    expect(resolveInsideRoot(root, 'steel/../steel/scratches')).toBe(path.join(root, 'steel', 'scratches'));
    expect(resolveInsideRoot(root, '')).toBe(root);
    expect(resolveInsideRoot(root, 'not-yet-created/file.png')).toBe(path.join(root, 'not-yet-created', 'file.png'));
  });

  it('refuses ".." escapes with an error naming the path', () => {
    expect(() => resolveInsideRoot(root, '../secret/key.txt')).toThrow(PathOutsideRootError);
    expect(() => resolveInsideRoot(root, 'steel/../../secret')).toThrow(/"steel\/\.\.\/\.\.\/secret" is outside/);
    expect(() => resolveInsideRoot(root, '..')).toThrow(PathOutsideRootError);
  });

  it('refuses absolute paths outside the root and accepts absolute paths inside', () => {
    expect(() => resolveInsideRoot(root, '/etc/passwd')).toThrow(/\/etc\/passwd/);
    expect(() => resolveInsideRoot(root, path.join(base, 'secret'))).toThrow(PathOutsideRootError);
    // A sibling whose name merely starts with the root's name is outside.
    expect(() => resolveInsideRoot(root, `${root}-evil/x.png`)).toThrow(PathOutsideRootError);
    expect(resolveInsideRoot(root, path.join(root, 'steel'))).toBe(path.join(root, 'steel'));
  });

  it('refuses symlinks (files or folders) that resolve outside the root', () => {
    expect(() => resolveInsideRoot(root, 'escape-dir/key.txt')).toThrow(/symlink/);
    expect(() => resolveInsideRoot(root, 'escape-dir')).toThrow(PathOutsideRootError);
    expect(() => resolveInsideRoot(root, 'steel/escape.png')).toThrow(PathOutsideRootError);
    expect(() => resolveInsideRoot(root, 'escape-dir/new-file.png')).toThrow(PathOutsideRootError);
  });

  it('allows symlinks that stay inside, and a root reached through a symlink', () => {
    expect(resolveInsideRoot(root, 'alias/scratches/a.png')).toBe(path.join(root, 'alias', 'scratches', 'a.png'));
    const viaLink = path.join(base, 'root-link');
    expect(resolveInsideRoot(viaLink, 'steel/scratches/a.png')).toBe(path.join(viaLink, 'steel', 'scratches', 'a.png'));
    expect(resolveInsideRoot(viaLink, path.join(root, 'steel'))).toBe(path.join(viaLink, 'steel'));
    expect(() => resolveInsideRoot(viaLink, 'escape-dir/key.txt')).toThrow(PathOutsideRootError);
  });

  it('refuses NUL bytes', () => {
    expect(() => resolveInsideRoot(root, 'steel\0/a.png')).toThrow(PathOutsideRootError);
  });
});
