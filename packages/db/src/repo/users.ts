import { and, asc, count, eq, ne, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { ConflictError, mapUnique, NotFoundError } from '../errors.ts';
import { type User, type UserRole, users } from '../schema.ts';

export interface CreateUserInput {
  /** Stored lower-case. */
  username: string;
  /** argon2id PHC string (hashing is the caller's job). */
  passwordHash: string;
  role: UserRole;
}

export interface UserPatch {
  role?: UserRole;
  disabled?: boolean;
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const LAST_ADMIN =
  'This is the last active admin: make another user an admin first (nobody could manage users otherwise)';

/**
 * Active admins other than `exceptId`, with their rows locked (FOR UPDATE) so two admins demoting each other
 * at the same moment cannot both pass the check.
 */
async function otherActiveAdmins(tx: Tx, exceptId: string): Promise<number> {
  const rows = await tx
    .select({ id: users.id })
    .from(users)
    .where(and(eq(users.role, 'admin'), eq(users.disabled, 0), ne(users.id, exceptId)))
    .for('update');
  return rows.length;
}

export function usersRepo(db: Db) {
  return {
    async count(): Promise<number> {
      const [row] = await db.select({ n: count() }).from(users);
      return Number(row?.n ?? 0);
    },

    /** By username. */
    async list(): Promise<User[]> {
      return db.select().from(users).orderBy(asc(users.username));
    },

    async get(id: string): Promise<User | null> {
      const [row] = await db.select().from(users).where(eq(users.id, id));
      return row ?? null;
    },

    async getByUsername(username: string): Promise<User | null> {
      const [row] = await db.select().from(users).where(eq(users.username, username.toLowerCase()));
      return row ?? null;
    },

    /** Throws ConflictError when the username is taken. */
    async create(input: CreateUserInput): Promise<User> {
      const username = input.username.toLowerCase();
      const [row] = await mapUnique(
        () => db.insert(users).values({ username, passwordHash: input.passwordHash, role: input.role }).returning(),
        `A user named "${username}" already exists`,
      );
      return row!;
    },

    /**
     * Creates the user only while the table is empty (first admin): null when someone was first.
     * The table lock makes two simultaneous first starts or setups create one admin, not two.
     */
    async createFirst(input: CreateUserInput): Promise<User | null> {
      return db.transaction(async (tx) => {
        await tx.execute(sql`lock table ${users} in exclusive mode`);
        const [existing] = await tx.select({ n: count() }).from(users);
        if (Number(existing?.n ?? 0) > 0) return null;
        const [row] = await tx
          .insert(users)
          .values({ username: input.username.toLowerCase(), passwordHash: input.passwordHash, role: input.role })
          .returning();
        return row!;
      });
    },

    /** Role / disabled change. Throws NotFoundError, or ConflictError when it would leave no active admin. */
    async update(id: string, patch: UserPatch): Promise<User> {
      return db.transaction(async (tx) => {
        const [current] = await tx.select().from(users).where(eq(users.id, id)).for('update');
        if (!current) throw new NotFoundError('user', id);
        const staysAdmin = (patch.role ?? current.role) === 'admin' && !(patch.disabled ?? (current.disabled === 1));
        if (current.role === 'admin' && current.disabled === 0 && !staysAdmin && (await otherActiveAdmins(tx, id)) === 0) {
          throw new ConflictError(LAST_ADMIN);
        }
        const set: Partial<typeof users.$inferInsert> = {};
        if (patch.role) set.role = patch.role;
        if (patch.disabled !== undefined) set.disabled = patch.disabled ? 1 : 0;
        if (Object.keys(set).length === 0) return current;
        const [row] = await tx.update(users).set(set).where(eq(users.id, id)).returning();
        return row!;
      });
    },

    /** Throws NotFoundError. */
    async setPasswordHash(id: string, passwordHash: string): Promise<void> {
      const rows = await db.update(users).set({ passwordHash }).where(eq(users.id, id)).returning({ id: users.id });
      if (rows.length === 0) throw new NotFoundError('user', id);
    },

    /** Deletes the user (their sessions and API tokens go with it). Same errors as update. */
    async remove(id: string): Promise<void> {
      await db.transaction(async (tx) => {
        const [current] = await tx.select().from(users).where(eq(users.id, id)).for('update');
        if (!current) throw new NotFoundError('user', id);
        if (current.role === 'admin' && current.disabled === 0 && (await otherActiveAdmins(tx, id)) === 0) {
          throw new ConflictError(LAST_ADMIN);
        }
        await tx.delete(users).where(eq(users.id, id));
      });
    },
  };
}
