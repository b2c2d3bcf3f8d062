import type { OutputCache } from './types.ts';

type Entry = { outputs: Record<string, unknown>; summary?: Record<string, unknown> };

function isDisposable(value: unknown): value is { dispose(): unknown } {
  return typeof value === 'object' && value !== null && typeof (value as { dispose?: unknown }).dispose === 'function';
}

/**
 * In-process output cache shared across runs (keys from computeCacheKeys). With `maxEntries`, the least
 * recently used entry is evicted and its disposable outputs (tensors, models) are disposed — unless
 * another entry still holds the same object (a node may pass an input through unchanged).
 */
export class MemoryOutputCache implements OutputCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly options: { maxEntries?: number } = {}) {}

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(key: string, value: Entry): void {
    const previous = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, value);
    if (previous && previous !== value) this.release(previous);
    const max = this.options.maxEntries;
    if (max === undefined) return;
    while (this.entries.size > Math.max(0, max)) {
      const oldest = this.entries.keys().next().value as string;
      const entry = this.entries.get(oldest) as Entry;
      this.entries.delete(oldest);
      this.release(entry);
    }
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.release(entry);
    return true;
  }

  /** Drops and disposes everything (e.g. when the runner shuts down). */
  clear(): void {
    const all = [...this.entries.values()];
    this.entries.clear();
    for (const entry of all) this.release(entry);
  }

  private release(entry: Entry): void {
    const stillHeld = new Set<unknown>();
    for (const other of this.entries.values()) {
      stillHeld.add(other);
      for (const v of Object.values(other.outputs)) stillHeld.add(v);
    }
    const candidates = [entry, ...Object.values(entry.outputs)];
    for (const value of new Set(candidates)) {
      if (!isDisposable(value) || stillHeld.has(value)) continue;
      try {
        value.dispose();
      } catch {
        // A failing dispose must not break caching; the object is unreachable from here anyway.
      }
    }
  }
}
