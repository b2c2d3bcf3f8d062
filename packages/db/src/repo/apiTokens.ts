import { and, desc, eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { mapUnique } from '../errors.ts';
import { type ApiToken, apiTokens, type User, users } from '../schema.ts';

export interface CreateApiTokenInput {
  userId: string;
  name: string;
  /** SHA-256 hex of the full token; the token itself is shown once and never stored. */
  tokenHash: string;
  prefix: string;
  expiresAt?: Date | null;
}

/** A token as its owner sees it in a list: never the hash. */
export type ApiTokenView = Omit<ApiToken, 'tokenHash' | 'userId'>;

const view = {
  id: apiTokens.id,
  name: apiTokens.name,
  prefix: apiTokens.prefix,
  createdAt: apiTokens.createdAt,
  lastUsedAt: apiTokens.lastUsedAt,
  expiresAt: apiTokens.expiresAt,
};

export function apiTokensRepo(db: Db) {
  return {
    async create(input: CreateApiTokenInput): Promise<ApiTokenView> {
      const [row] = await mapUnique(
        () =>
          db
            .insert(apiTokens)
            .values({ ...input, expiresAt: input.expiresAt ?? null })
            .returning(view),
        'token collision: create it again',
      );
      return row!;
    },

    /** A user's tokens, newest first. */
    async listForUser(userId: string): Promise<ApiTokenView[]> {
      return db.select(view).from(apiTokens).where(eq(apiTokens.userId, userId)).orderBy(desc(apiTokens.createdAt));
    },

    /** The token and its user, expired or not (the caller decides); null when unknown or revoked. */
    async find(tokenHash: string): Promise<{ token: ApiToken; user: User } | null> {
      const [row] = await db
        .select({ token: apiTokens, user: users })
        .from(apiTokens)
        .innerJoin(users, eq(users.id, apiTokens.userId))
        .where(eq(apiTokens.tokenHash, tokenHash));
      return row ?? null;
    },

    async touch(id: string, lastUsedAt: Date): Promise<void> {
      await db.update(apiTokens).set({ lastUsedAt }).where(eq(apiTokens.id, id));
    },

    /** Deletes one of the user's own tokens; false when the user has no token with that id. */
    async revoke(id: string, userId: string): Promise<boolean> {
      const rows = await db
        .delete(apiTokens)
        .where(and(eq(apiTokens.id, id), eq(apiTokens.userId, userId)))
        .returning({ id: apiTokens.id });
      return rows.length > 0;
    },
  };
}
