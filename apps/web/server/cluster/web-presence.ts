/**
 * Cluster mode: each web server says it is alive (`df:web:<WEB_ID>`, refreshed every 3 s, gone 10 s after its last
 * refresh or at once on a clean stop). What only one web server does — driving a sweep — is judged by it: a sweep
 * whose server is gone is interrupted by another (SweepController.recoverAbandoned) instead of staying `running`.
 */
import type { Redis } from 'ioredis';
import { errorMessage, type Logger } from '../log.ts';

export const webPresenceKey = (webId: string) => `df:web:${webId}`;

export interface WebPresence {
  isAlive(webId: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function startWebPresence(
  redis: Redis,
  webId: string,
  opts: { log: Logger; intervalMs?: number; ttlMs?: number },
): Promise<WebPresence> {
  const intervalMs = opts.intervalMs ?? 3_000;
  const ttlMs = opts.ttlMs ?? 10_000;
  const key = webPresenceKey(webId);
  const beat = () => redis.set(key, String(Date.now()), 'PX', ttlMs);
  await beat();
  const timer = setInterval(() => {
    beat().catch((err: unknown) => opts.log.warn(`presence ${key} not refreshed: ${errorMessage(err)}`));
  }, intervalMs);
  timer.unref();
  return {
    async isAlive(other) {
      return (await redis.exists(webPresenceKey(other))) === 1;
    },
    async close() {
      clearInterval(timer);
      await redis.del(key).catch(() => undefined);
    },
  };
}
