import fs from 'node:fs';
import path from 'node:path';
import { PathOutsideRootError } from './errors.ts';

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!path.isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${path.sep}`));
}

/** Realpath of the deepest existing ancestor of `p`, with the missing tail appended. */
function realpathOfExistingPrefix(p: string): string {
  let current = p;
  const tail: string[] = [];
  for (;;) {
    try {
      return path.join(fs.realpathSync.native(current), ...tail.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(current);
      if (parent === current) return p;
      tail.push(path.basename(current));
      current = parent;
    }
  }
}

/**
 * Resolves a user-supplied path (relative to `root`, or absolute) and guarantees it stays inside
 * `root`, both lexically (`..`, absolute paths) and physically (symlinks, via realpath).
 * Returns the lexical absolute path (so ids stay relative to the root the user sees).
 * Paths that do not exist yet are checked through their deepest existing ancestor.
 */
export function resolveInsideRoot(root: string, userPath: string): string {
  if (userPath.includes('\0')) throw new PathOutsideRootError(userPath, root, 'contains a NUL byte');
  const lexicalRoot = path.resolve(root);
  const realRoot = realpathOfExistingPrefix(lexicalRoot);
  const candidate = path.resolve(lexicalRoot, userPath);
  // An absolute path may name the root through its real (symlink-free) spelling too.
  const viaReal = path.isAbsolute(userPath) && !isInside(lexicalRoot, candidate) && isInside(realRoot, candidate);
  const lexical = viaReal ? path.join(lexicalRoot, path.relative(realRoot, candidate)) : candidate;
  if (!isInside(lexicalRoot, lexical)) throw new PathOutsideRootError(userPath, lexicalRoot);
  const real = realpathOfExistingPrefix(lexical);
  if (!isInside(realRoot, real)) {
    throw new PathOutsideRootError(userPath, lexicalRoot, `a symlink resolves to ${real}`);
  }
  return lexical;
}

/** Forward-slash relative path, used for dataset item ids on every OS. */
export function toPosixRelative(from: string, to: string): string {
  return path.relative(from, to).split(path.sep).join('/');
}
