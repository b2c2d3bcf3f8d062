import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { NotFoundError } from '../errors.ts';
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

    /** The models a run deployed (a run's deletion takes them along). */
    async listByRun(runId: string): Promise<Model[]> {
      return db.select().from(models).where(eq(models.runId, runId)).orderBy(desc(models.createdAt));
    },

    /** Throws NotFoundError when the model does not exist. */
    async rename(id: string, name: string): Promise<Model> {
      const [row] = await db.update(models).set({ name }).where(eq(models.id, id)).returning();
      if (!row) throw new NotFoundError('model', id);
      return row;
    },

    /**
     * Makes `id` the active model of its product line (the one before it stops being active), in one
     * transaction; `active: false` only clears it. Throws NotFoundError when the model does not exist.
     */
    async setActive(id: string, active: boolean): Promise<Model> {
      return db.transaction(async (tx) => {
        const [model] = await tx.select().from(models).where(eq(models.id, id));
        if (!model) throw new NotFoundError('model', id);
        if (active) {
          const sameLine = model.productLineId === null ? isNull(models.productLineId) : eq(models.productLineId, model.productLineId);
          await tx.update(models).set({ active: false }).where(and(sameLine, eq(models.active, true)));
        }
        const [row] = await tx.update(models).set({ active }).where(eq(models.id, id)).returning();
        return row!;
      });
    },

    /** Deletes the row (its files are the caller's). */
    async remove(id: string): Promise<boolean> {
      const deleted = await db.delete(models).where(eq(models.id, id)).returning({ id: models.id });
      return deleted.length > 0;
    },
  };
}
