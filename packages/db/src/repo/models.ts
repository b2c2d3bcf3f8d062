import { desc, eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type Model, models, type NewModel } from '../schema.ts';

export type CreateModelInput = Omit<NewModel, 'createdAt'>;

export function modelsRepo(db: Db) {
  return {
    /** Registers an exported model (its files live in `dir`). */
    async create(input: CreateModelInput): Promise<Model> {
      const [row] = await db.insert(models).values(input).returning();
      return row!;
    },

    /** Newest first. */
    async list(productLineId?: string): Promise<Model[]> {
      return db
        .select()
        .from(models)
        .where(productLineId ? eq(models.productLineId, productLineId) : undefined)
        .orderBy(desc(models.createdAt));
    },

    async get(id: string): Promise<Model | null> {
      const [row] = await db.select().from(models).where(eq(models.id, id));
      return row ?? null;
    },
  };
}
