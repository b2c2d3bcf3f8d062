/**
 * Cluster mode: sliding-window limits shared by every web server (a sorted set of hit times per key in Redis, one Lua
 * script per call), so PREDICT_RATE_PER_MIN holds per API token, and SIGNIN_MAX_FAILURES per client and username,
 * whichever server a request lands on.
 */
import type { Redis } from 'ioredis';
import type { AttemptCounterFactory, LimitVerdict } from '../auth/rate-limit.ts';

/** ARGV: now, window, limit[, member]. With a member: counted when allowed (take); without: only checked. */
const LIMIT_LUA = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
if ARGV[4] then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
end
return {1, 0}
`;

const HIT_LUA = `
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
`;

let seq = 0;
const uniqueMember = (now: number) => `${now}-${process.pid}-${seq++}-${Math.random().toString(36).slice(2, 8)}`;
const limitKey = (name: string, key: string) => `df:rate:${name}:${key}`;

async function limitCall(redis: Redis, key: string, windowMs: number, limit: number, count: boolean): Promise<LimitVerdict> {
  const now = Date.now();
  const args: (string | number)[] = [now, windowMs, limit];
  if (count) args.push(uniqueMember(now));
  const [ok, waitMs] = (await redis.eval(LIMIT_LUA, 1, key, ...args)) as [number, number];
  return ok === 1 ? { ok: true, retryAfterS: 0 } : { ok: false, retryAfterS: Math.max(1, Math.ceil(Number(waitMs) / 1000)) };
}

/** Sign-in failures and setup attempts counted in Redis (AuthService's counters in cluster mode). */
export function redisAttemptCounters(redis: Redis): AttemptCounterFactory {
  return (name, limit, windowMs) => ({
    check: (key) => limitCall(redis, limitKey(name, key), windowMs, limit, false),
    async hit(key) {
      const now = Date.now();
      await redis.eval(HIT_LUA, 1, limitKey(name, key), now, windowMs, uniqueMember(now));
    },
    async reset(key) {
      await redis.del(limitKey(name, key));
    },
  });
}

export class RedisWindowLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Counts one hit when allowed. */
  take(key: string): Promise<LimitVerdict> {
    return limitCall(this.redis, limitKey(this.name, key), this.windowMs, this.limit, true);
  }
}
