import { and, eq, lte, ne } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type Session, sessions, type User, users } from '../schema.ts';

export interface CreateSessionInput {
  /** SHA-256 hex of the cookie value; the value itself is never stored. */
  tokenHash: string;
  userId: string;
  expiresAt: Date;
}

/** Browser sessions. Expiry rules (sliding, absolute) are the caller's; this stores and finds rows. */
export function sessionsRepo(db: Db) {
  return {
    async create(input: CreateSessionInput): Promise<Session> {
      const [row] = await db.insert(sessions).values({ ...input, lastSeenAt: new Date() }).returning();
      return row!;
    },

    /** The session and its user, expired or not (the caller decides); null when unknown. */
    async find(tokenHash: string): Promise<{ session: Session; user: User } | null> {
      const [row] = await db
        .select({ session: sessions, user: users })
        .from(sessions)
        .innerJoin(users, eq(users.id, sessions.userId))
        .where(eq(sessions.tokenHash, tokenHash));
      return row ?? null;
    },

    /** Moves the sliding expiry. */
    async touch(tokenHash: string, expiresAt: Date, lastSeenAt: Date): Promise<void> {
      await db.update(sessions).set({ expiresAt, lastSeenAt }).where(eq(sessions.tokenHash, tokenHash));
    },

    async remove(tokenHash: string): Promise<void> {
      await db.delete(sessions).where(eq(sessions.tokenHash, tokenHash));
    },

    /** Every session of a user, except `keepTokenHash` (the one changing its password). Returns the deleted hashes. */
    async removeForUser(userId: string, keepTokenHash?: string): Promise<string[]> {
      const where = keepTokenHash
        ? and(eq(sessions.userId, userId), ne(sessions.tokenHash, keepTokenHash))
        : eq(sessions.userId, userId);
      const rows = await db.delete(sessions).where(where).returning({ tokenHash: sessions.tokenHash });
      return rows.map((r) => r.tokenHash);
    },

    /** Deletes sessions past their expiry; returns how many. */
    async removeExpired(now = new Date()): Promise<number> {
      const rows = await db.delete(sessions).where(lte(sessions.expiresAt, now)).returning({ tokenHash: sessions.tokenHash });
      return rows.length;
    },
  };
}
