/**
 * Cluster mode: what AuthService keeps across web servers in Redis — the failed sign-in and setup attempt counts
 * (one limit, whichever server a request lands on), the one-time setup code (the first server to start without
 * users picks it, every server prints and accepts the same one), and revocations (a session signed out or a user
 * disabled on one server closes that principal's browser sockets on every server).
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Revocation, SharedAuthState } from '../auth/service.ts';
import { errorMessage, type Logger } from '../log.ts';
import { redisAttemptCounters } from './rate-limit.ts';

const SETUP_CODE_KEY = 'df:auth:setup-code';
const REVOCATIONS_CHANNEL = 'df:auth:revoked';

export function redisAuthState(redis: Redis, log: Logger): SharedAuthState {
  const origin = randomUUID();
  let subscriber: Redis | null = null;
  return {
    counters: redisAttemptCounters(redis),
    async setupCode(fresh) {
      await redis.set(SETUP_CODE_KEY, fresh, 'NX');
      return (await redis.get(SETUP_CODE_KEY)) ?? fresh;
    },
    async currentSetupCode() {
      return redis.get(SETUP_CODE_KEY);
    },
    async setupDone() {
      await redis.del(SETUP_CODE_KEY);
    },
    async publishRevocation(r) {
      await redis.publish(REVOCATIONS_CHANNEL, JSON.stringify({ origin, r }));
    },
    async onRemoteRevocation(listener: (r: Revocation) => void) {
      subscriber = redis.duplicate();
      subscriber.on('error', (err) => log.warn(`revocations channel: ${err.message}`));
      subscriber.on('message', (_channel: string, message: string) => {
        try {
          const parsed = JSON.parse(message) as { origin: string; r: Revocation };
          if (parsed.origin !== origin) listener(parsed.r);
        } catch (err) {
          log.warn(`revocation message ignored: ${errorMessage(err)}`);
        }
      });
      await subscriber.subscribe(REVOCATIONS_CHANNEL);
    },
    close() {
      subscriber?.disconnect();
      subscriber = null;
    },
  };
}
