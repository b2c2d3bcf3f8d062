import type { ArtifactStore } from '../src/index.ts';

/** A real store wrapped to count object downloads (blobs fetched) and uploads — no behaviour changed. */
export function counting(inner: ArtifactStore): ArtifactStore & { gets: string[]; puts: string[] } {
  const gets: string[] = [];
  const puts: string[] = [];
  return {
    gets,
    puts,
    put(k, b) {
      puts.push(k);
      return inner.put(k, b);
    },
    putFile(k, p) {
      puts.push(k);
      return inner.putFile(k, p);
    },
    get(k) {
      gets.push(k);
      return inner.get(k);
    },
    getToFile(k, p) {
      gets.push(k);
      return inner.getToFile(k, p);
    },
    getStream(k) {
      gets.push(k);
      return inner.getStream(k);
    },
    has: (k) => inner.has(k),
    list: (p) => inner.list(p),
    delete: (k) => inner.delete(k),
    deletePrefix: (p) => inner.deletePrefix(p),
    describe: () => inner.describe(),
  };
}
