/**
 * In-memory sliding-window counters (sign-in failures, setup attempts, socket joins, the prediction API). In cluster
 * mode the prediction API, sign-in failures and setup attempts count in Redis instead (cluster/rate-limit.ts: one
 * limit across web servers); socket joins stay per socket.
 */
export interface LimitVerdict {
  ok: boolean;
  /** Seconds until the oldest counted hit leaves the window (0 when ok). */
  retryAfterS: number;
}

export class SlidingWindowLimiter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    /** Keys kept at most; the oldest are forgotten first, so memory stays bounded whatever the input. */
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Would one more hit be allowed? Does not count. */
  check(key: string): LimitVerdict {
    const recent = this.recent(key);
    if (recent.length < this.limit) return { ok: true, retryAfterS: 0 };
    return { ok: false, retryAfterS: Math.max(1, Math.ceil((recent[0]! + this.windowMs - this.now()) / 1000)) };
  }

  /** Counts a hit. */
  hit(key: string): void {
    const recent = this.recent(key);
    recent.push(this.now());
    this.hits.delete(key); // re-insert: Map order = least recently hit first
    this.hits.set(key, recent);
    while (this.hits.size > this.maxKeys) this.hits.delete(this.hits.keys().next().value!);
  }

  /** check() then hit() when allowed. */
  take(key: string): LimitVerdict {
    const verdict = this.check(key);
    if (verdict.ok) this.hit(key);
    return verdict;
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  private recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.hits.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length) this.hits.set(key, list);
    else this.hits.delete(key);
    return list;
  }
}

/** Attempts counted against a limit (sign-in failures, setup attempts), checked before and counted after. */
export interface AttemptCounter {
  check(key: string): Promise<LimitVerdict>;
  hit(key: string): Promise<void>;
  reset(key: string): Promise<void>;
}

/** Makes the counter named `name`; memoryAttemptCounters, or redisAttemptCounters in cluster mode. */
export type AttemptCounterFactory = (name: string, limit: number, windowMs: number) => AttemptCounter;

export const memoryAttemptCounters: AttemptCounterFactory = (_name, limit, windowMs) => {
  const limiter = new SlidingWindowLimiter(limit, windowMs);
  return {
    check: async (key) => limiter.check(key),
    hit: async (key) => limiter.hit(key),
    reset: async (key) => limiter.reset(key),
  };
};
