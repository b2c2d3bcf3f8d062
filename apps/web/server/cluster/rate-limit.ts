/**
 * Cluster mode: a sliding-window limit shared by every web server (a sorted set per key in Redis, one Lua script per
 * hit), so PREDICT_RATE_PER_MIN holds per API token whichever server a request lands on.
 */
import type { Redis } from 'ioredis';
import type { LimitVerdict } from '../auth/rate-limit.ts';

const TAKE_LUA = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
`;

export class RedisWindowLimiter {
  private seq = 0;

  constructor(
    private readonly redis: Redis,
    private readonly name: string,
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  async take(key: string): Promise<LimitVerdict> {
    const now = Date.now();
    const member = `${now}-${process.pid}-${this.seq++}-${Math.random().toString(36).slice(2, 8)}`;
    const [ok, waitMs] = (await this.redis.eval(TAKE_LUA, 1, `df:rate:${this.name}:${key}`, now, this.windowMs, this.limit, member)) as [number, number];
    return ok === 1 ? { ok: true, retryAfterS: 0 } : { ok: false, retryAfterS: Math.max(1, Math.ceil(Number(waitMs) / 1000)) };
  }
}
