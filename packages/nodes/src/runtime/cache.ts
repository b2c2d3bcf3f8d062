import type { CachedOutput, OutputCache } from './types.ts';

type Entry = CachedOutput;

export interface MemoryOutputCacheOptions {
  /** Most entries (one per node output set) kept for reuse; least recently used ones beyond it are dropped. Default: no bound. */
  maxEntries?: number;
  /**
   * Frees one resource found in a dropped entry: an object with dispose(), release() or
   * terminate() (tf models and tensors, ONNX Runtime sessions, worker threads). Default: calls
   * the first of those it has. The runner passes one that also stops a model's ORT sessions.
   */
  dispose?: (resource: object) => unknown;
}

/** A resource: something that holds memory or a thread until told to let go. */
function isResource(value: object): boolean {
  const v = value as { dispose?: unknown; release?: unknown; terminate?: unknown };
  return typeof v.dispose === 'function' || typeof v.release === 'function' || typeof v.terminate === 'function';
}

function defaultDispose(resource: object): unknown {
  const r = resource as { dispose?: () => unknown; release?: () => unknown; terminate?: () => unknown };
  if (typeof r.dispose === 'function') return r.dispose();
  if (typeof r.release === 'function') return r.release();
  return r.terminate?.();
}

/**
 * The resources reachable from a node's outputs through plain objects and arrays (a trained model
 * holds its backbone, a frozen backbone the backbone's model…); a resource's own insides are not
 * searched.
 */
function resourcesIn(value: unknown, found = new Set<object>(), seen = new Set<object>(), depth = 0): Set<object> {
  if (typeof value !== 'object' || value === null || seen.has(value) || depth > 8) return found;
  seen.add(value);
  if (isResource(value)) {
    found.add(value);
    return found;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return found;
  if (Array.isArray(value)) {
    for (const v of value) resourcesIn(v, found, seen, depth + 1);
    return found;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) resourcesIn(v, found, seen, depth + 1);
  return found;
}

/**
 * In-process output cache shared across runs (keys from computeCacheKeys). With `maxEntries`, the
 * least recently used entries beyond it are dropped and the resources only they held (models,
 * ORT sessions, workers) are freed. An entry a running run uses (`owner` on get/set) is freed only
 * after that run calls `release(owner)`: eviction never pulls a model from under a running node.
 */
export class MemoryOutputCache implements OutputCache {
  private readonly entries = new Map<string, Entry>();
  /** owner (a run id) → the entries it got or stored, cached or dropped since. */
  private readonly holds = new Map<string, Set<Entry>>();
  /** Dropped entries a run still holds: freed when the last one releases them. */
  private readonly retired = new Set<Entry>();
  private readonly resources = new WeakMap<Entry, Set<object>>();
  private readonly disposeResource: (resource: object) => unknown;

  constructor(private readonly options: MemoryOutputCacheOptions = {}) {
    this.disposeResource = options.dispose ?? defaultDispose;
  }

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  get(key: string, owner?: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(key);
      this.entries.set(key, entry);
      if (owner !== undefined) this.hold(owner, entry);
    }
    return entry;
  }

  set(key: string, value: Entry, owner?: string): void {
    if (owner !== undefined) this.hold(owner, value);
    const previous = this.entries.get(key);
    this.entries.delete(key);
    this.entries.set(key, value);
    if (previous && previous !== value) this.drop(previous);
    const max = this.options.maxEntries;
    if (max === undefined) return;
    while (this.entries.size > Math.max(0, max)) {
      const oldest = this.entries.keys().next().value as string;
      const entry = this.entries.get(oldest) as Entry;
      this.entries.delete(oldest);
      this.drop(entry);
    }
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.drop(entry);
    return true;
  }

  /** The run `owner` has ended: what was dropped while it held it is freed now. */
  release(owner: string): void {
    if (!this.holds.delete(owner)) return;
    for (const entry of [...this.retired]) {
      if (this.isHeld(entry)) continue;
      this.retired.delete(entry);
      this.free(entry);
    }
  }

  /** Drops and frees everything, held or not (the runner is shutting down). */
  clear(): void {
    const all = new Set<object>();
    for (const entry of [...this.entries.values(), ...this.retired]) for (const r of this.resourcesOf(entry)) all.add(r);
    this.entries.clear();
    this.retired.clear();
    this.holds.clear();
    for (const resource of all) this.disposeQuietly(resource);
  }

  private hold(owner: string, entry: Entry): void {
    let set = this.holds.get(owner);
    if (!set) {
      set = new Set();
      this.holds.set(owner, set);
    }
    set.add(entry);
  }

  private isHeld(entry: Entry): boolean {
    for (const set of this.holds.values()) if (set.has(entry)) return true;
    return false;
  }

  private resourcesOf(entry: Entry): Set<object> {
    let found = this.resources.get(entry);
    if (!found) {
      found = resourcesIn(entry.outputs);
      this.resources.set(entry, found);
    }
    return found;
  }

  private drop(entry: Entry): void {
    if (this.isHeld(entry)) this.retired.add(entry);
    else this.free(entry);
  }

  /** Frees the resources of `entry` that no cached, retired or held entry still reaches. */
  private free(entry: Entry): void {
    const mine = this.resourcesOf(entry);
    if (mine.size === 0) return;
    const live = new Set<object>();
    const others = new Set<Entry>([...this.entries.values(), ...this.retired]);
    for (const set of this.holds.values()) for (const e of set) others.add(e);
    others.delete(entry);
    for (const other of others) for (const r of this.resourcesOf(other)) live.add(r);
    for (const resource of mine) if (!live.has(resource)) this.disposeQuietly(resource);
  }

  private disposeQuietly(resource: object): void {
    try {
      const done = this.disposeResource(resource);
      // An async release (ORT session, worker) that fails must not become an unhandled rejection.
      if (done instanceof Promise) done.catch(() => {});
    } catch {
      // A failing dispose (already disposed through a model sharing its layers) must not break caching.
    }
  }
}
