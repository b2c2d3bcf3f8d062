/**
 * Path safety for everything the web server reads from disk on a user's behalf.
 * The engine has the same check (resolveInsideRoot in @defectflow/engine); this copy exists so the web
 * server's request path never has to load TensorFlow.js just to validate a path.
 */
import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';

export class PathOutsideRootError extends Error {
  readonly code = 'path_outside_root';
  constructor(userPath: string, root: string, detail?: string) {
    super(`Path "${userPath}" is outside the allowed root ${root}${detail ? ` (${detail})` : ''}`);
    this.name = 'PathOutsideRootError';
  }
}

function isInside(root: string, candidate: string): boolean {
  const rel = relative(root, candidate);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

/** realpath of the deepest existing ancestor, with the missing tail appended. */
function realpathOfExistingPrefix(p: string): string {
  const tail: string[] = [];
  let current = p;
  for (;;) {
    try {
      return join(realpathSync.native(current), ...tail.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = dirname(current);
      if (parent === current) return p;
      tail.push(current.slice(parent.length).replace(/^[/\\]/, ''));
      current = parent;
    }
  }
}

/**
 * Resolves `userPath` (relative to `root`) and guarantees the result is inside `root`, lexically
 * (`..`, absolute paths) and physically (symlinks). Throws PathOutsideRootError otherwise.
 */
export function resolveInsideRoot(root: string, userPath: string): string {
  if (userPath.includes('\0')) throw new PathOutsideRootError(userPath, root, 'contains a NUL byte');
  const lexicalRoot = resolve(root);
  const candidate = resolve(lexicalRoot, userPath);
  if (!isInside(lexicalRoot, candidate)) throw new PathOutsideRootError(userPath, lexicalRoot);
  const realRoot = realpathOfExistingPrefix(lexicalRoot);
  const real = realpathOfExistingPrefix(candidate);
  if (!isInside(realRoot, real)) throw new PathOutsideRootError(userPath, lexicalRoot, `a symlink resolves to ${real}`);
  return candidate;
}
