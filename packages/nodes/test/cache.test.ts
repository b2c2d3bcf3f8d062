import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/runtime/cache-key.ts';
import { MemoryOutputCache } from '../src/runtime/cache.ts';

function tensorLike(name: string, log: string[]) {
  return { name, dispose: () => log.push(name) };
}

describe('MemoryOutputCache', () => {
  it('stores and returns entries', () => {
    const cache = new MemoryOutputCache();
    cache.set('k', { outputs: { a: 1 }, summary: { n: 1 } });
    expect(cache.get('k')).toEqual({ outputs: { a: 1 }, summary: { n: 1 } });
    expect(cache.get('missing')).toBeUndefined();
  });

  it('evicts the least recently used entry past maxEntries and disposes its outputs', () => {
    const disposed: string[] = [];
    const cache = new MemoryOutputCache({ maxEntries: 2 });
    cache.set('a', { outputs: { t: tensorLike('a', disposed) } });
    cache.set('b', { outputs: { t: tensorLike('b', disposed) } });
    cache.get('a'); // a is now the most recently used
    cache.set('c', { outputs: { t: tensorLike('c', disposed) } });
    expect(disposed).toEqual(['b']);
    expect(cache.has('a')).toBe(true);
    expect(cache.has('b')).toBe(false);
    expect(cache.size).toBe(2);
  });

  it('does not dispose an object another entry still holds', () => {
    const disposed: string[] = [];
    const shared = tensorLike('shared', disposed);
    const cache = new MemoryOutputCache({ maxEntries: 1 });
    cache.set('backbone', { outputs: { backbone: shared } });
    cache.set('freeze', { outputs: { backbone: shared } }); // passed through unchanged
    expect(disposed).toEqual([]);
    cache.clear();
    expect(disposed).toEqual(['shared']);
  });
});

describe('MemoryOutputCache: entries a running run holds', () => {
  it('frees a dropped entry only once every run that used it has released it', () => {
    const disposed: string[] = [];
    const cache = new MemoryOutputCache({ maxEntries: 1 });
    cache.set('a', { outputs: { t: tensorLike('a', disposed) } }, 'run-1');
    cache.get('a', 'run-2');
    cache.set('b', { outputs: { t: tensorLike('b', disposed) } }, 'run-2'); // a is dropped from the cache…
    expect(cache.has('a')).toBe(false);
    expect(disposed).toEqual([]); // …but two runs still use it
    cache.release('run-1');
    expect(disposed).toEqual([]);
    cache.release('run-2');
    expect(disposed).toEqual(['a']);
    expect(cache.has('b')).toBe(true);
  });

  it('frees a resource nested in a plain object once nothing else reaches it', () => {
    const disposed: string[] = [];
    const model = tensorLike('model', disposed);
    const cache = new MemoryOutputCache({ maxEntries: 1 });
    cache.set('backbone', { outputs: { backbone: { model, topology: {} } } });
    cache.set('trained', { outputs: { trained: { backbone: { model }, head: tensorLike('head', disposed) } } });
    expect(disposed).toEqual([]); // the trained entry still reaches the backbone's model
    cache.set('metrics', { outputs: { metrics: { accuracy: 1 } } });
    expect(disposed.sort()).toEqual(['head', 'model']);
  });
});

describe('canonicalJson', () => {
  it('ignores key order and undefined values', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe(canonicalJson({ a: { d: [1, { x: 1, y: 2 }] }, b: 1 }));
  });
});
