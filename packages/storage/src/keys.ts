/**
 * Store keys: `/`-separated segments of safe characters, never absolute, never `.`/`..`. Keys become file
 * paths (FsStore) and object names (S3Store), and some come from event summaries, so a hostile one must not
 * reach outside the store.
 */

const SEGMENT = /^[A-Za-z0-9._+=@-]+$/;
/** Temp files of in-flight writes carry this marker; no key may, so listings never show them. */
export const TEMP_MARKER = '.df-tmp-';

export class InvalidKeyError extends Error {
  constructor(
    readonly key: string,
    why: string,
  ) {
    super(`invalid storage key ${JSON.stringify(key)}: ${why}`);
    this.name = 'InvalidKeyError';
  }
}

function checkSegments(key: string, segments: string[]): void {
  for (const s of segments) {
    if (s === '') throw new InvalidKeyError(key, 'empty path segment (leading "/", trailing "/" or "//")');
    if (s === '.' || s === '..') throw new InvalidKeyError(key, `"${s}" segments are not allowed`);
    if (!SEGMENT.test(s)) throw new InvalidKeyError(key, 'use letters, digits and . _ + = @ - between "/"');
    if (s.includes(TEMP_MARKER)) throw new InvalidKeyError(key, `"${TEMP_MARKER}" is reserved for temp files`);
  }
}

/** A key of one object: `runs/<runId>/metrics-<nodeId>.json`. Returns it unchanged, or throws naming it. */
export function checkKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new InvalidKeyError(String(key), 'empty');
  if (key.length > 1024) throw new InvalidKeyError(key.slice(0, 64), 'longer than 1024 characters');
  checkSegments(key, key.split('/'));
  return key;
}

/**
 * A listing/deletion prefix: a key's start, usually ending in `/` (`models/<id>/`). The part before the last
 * `/` must be whole valid segments; the tail may be a partial segment (`runs/r1/metrics-`).
 */
export function checkPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InvalidKeyError(String(prefix), 'not a string');
  if (prefix === '') return prefix;
  const segments = prefix.split('/');
  const tail = segments.pop() as string;
  checkSegments(prefix, segments);
  if (tail !== '') checkSegments(prefix, [tail]);
  return prefix;
}

/** A relative path as kept in a dataset manifest (any characters a file name may have, but confined). */
export function checkRelativePath(path: string, what: string): string {
  if (typeof path !== 'string' || path === '') throw new Error(`${what}: empty path`);
  if (path.startsWith('/') || path.includes('\\') || path.includes('\0')) throw new Error(`${what}: path ${JSON.stringify(path)} must be relative, "/"-separated`);
  for (const s of path.split('/')) {
    if (s === '' || s === '.' || s === '..') throw new Error(`${what}: path ${JSON.stringify(path)} has an empty, "." or ".." segment`);
    if (s.includes(TEMP_MARKER)) throw new Error(`${what}: path ${JSON.stringify(path)} uses the reserved "${TEMP_MARKER}"`);
  }
  return path;
}
