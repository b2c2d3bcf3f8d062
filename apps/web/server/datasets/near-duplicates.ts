/**
 * Near-duplicate images across classes: a 64-bit difference hash (9×8 grayscale, each pixel compared
 * with its right neighbour) per image; two images whose hashes differ in at most `maxDistance` bits look
 * the same to a person (re-saved, slightly rescaled, re-compressed). Exact duplicates are the loader's job;
 * this catches the copies it cannot. Pairs are compared by brute force, so it is capped to `maxImages`.
 */
import sharp from 'sharp';

export interface NearDuplicateOptions {
  maxDistance?: number;
  maxImages?: number;
  concurrency?: number;
}

export async function differenceHash(file: string): Promise<bigint> {
  const raw = await sharp(file).grayscale().resize(9, 8, { fit: 'fill' }).raw().toBuffer();
  let hash = 0n;
  for (let y = 0; y < 8; y++) {
    for (let x = 0; x < 8; x++) {
      hash = (hash << 1n) | ((raw[y * 9 + x] as number) > (raw[y * 9 + x + 1] as number) ? 1n : 0n);
    }
  }
  return hash;
}

function bits(n: bigint): number {
  let count = 0;
  while (n) {
    n &= n - 1n;
    count++;
  }
  return count;
}

/** Groups [idA, idB] of images with different classes that look alike (exact byte duplicates excluded by the caller). */
export async function findNearDuplicatesAcrossClasses(
  items: readonly { id: string; path: string; className: string }[],
  options: NearDuplicateOptions = {},
): Promise<[string, string][] | null> {
  const maxDistance = options.maxDistance ?? 4;
  if (items.length > (options.maxImages ?? 4000)) return null; // too many for a pairwise check; skipped
  const hashes: (bigint | null)[] = new Array(items.length).fill(null);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      hashes[i] = await differenceHash((items[i] as { path: string }).path).catch(() => null);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  const pairs: [string, string][] = [];
  for (let i = 0; i < items.length; i++) {
    const a = hashes[i];
    if (a === null || a === undefined) continue;
    for (let j = i + 1; j < items.length; j++) {
      const b = hashes[j];
      if (b === null || b === undefined || items[i]?.className === items[j]?.className) continue;
      if (bits(a ^ b) <= maxDistance) pairs.push([(items[i] as { id: string }).id, (items[j] as { id: string }).id]);
    }
  }
  return pairs;
}
