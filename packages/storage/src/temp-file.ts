import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { TEMP_MARKER } from './keys.ts';

/** A unique sibling of `path` for write-then-rename (same folder, so the rename is atomic). */
export function tempSibling(path: string): string {
  return join(dirname(path), `.${basename(path)}${TEMP_MARKER}${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function isTempName(name: string): boolean {
  return name.includes(TEMP_MARKER);
}

export function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}
