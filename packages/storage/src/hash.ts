import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A SHA-256 as hex: the name of a blob in the store and in a machine's cache. */
export const SHA256_HEX = /^[0-9a-f]{64}$/;

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
