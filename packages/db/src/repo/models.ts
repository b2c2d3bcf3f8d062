import { and, desc, eq, isNotNull, isNull, type SQL, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type Model, type ModelStage, models, type NewModel } from '../schema.ts';

/** `version` is assigned (next in the product line) unless given; `stage` starts as staging. */
export type CreateModelInput = Omit<NewModel, 'createdAt' | 'version' | 'stageChangedAt' | 'retiredAt'> & { version?: number };

/** A promotion or rollback: the model now in production and the one it replaced (null when the line had none). */
export interface StageChange {
  model: Model;
  replaced: Model | null;
}

/** Rows of the same product line (models without one form their own group). */
function sameLine(productLineId: string | null): SQL {
  return productLineId === null ? isNull(models.productLineId) : eq(models.productLineId, productLineId);
}

export function modelsRepo(db: Db) {
  const repo = {
    /** Registers an exported model (its files live in `dir`) as the next version of its product line, in staging. */
    async create(input: CreateModelInput): Promise<Model> {
      const lineId = input.productLineId ?? null;
      const version = input.version ?? sql<number>`(select coalesce(max(${models.version}), 0) + 1 from ${models} where ${sameLine(lineId)})`;
      const [row] = await db.insert(models).values({ ...input, version }).returning();
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

    /** Version `version` of a product line. */
    async getByVersion(productLineId: string | null, version: number): Promise<Model | null> {
      const [row] = await db.select().from(models).where(and(sameLine(productLineId), eq(models.version, version)));
      return row ?? null;
    },

    /** The product line's production model, if it has one. */
    async getProduction(productLineId: string | null): Promise<Model | null> {
      const [row] = await db.select().from(models).where(and(sameLine(productLineId), eq(models.stage, 'production')));
      return row ?? null;
    },

    /** What a rollback would restore: the archived model of the line that a promotion replaced last. */
    async rollbackTarget(productLineId: string | null): Promise<Model | null> {
      const [row] = await db
        .select()
        .from(models)
        .where(and(sameLine(productLineId), eq(models.stage, 'archived'), isNotNull(models.retiredAt)))
        .orderBy(desc(models.retiredAt), desc(models.version))
        .limit(1);
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
     * Puts `id` in production, in one transaction. The production model it replaces is archived with `retired_at`
     * set (so a rollback finds it); it is not put back in staging, which holds candidates that were never
     * replaced. Promoting the production model again changes nothing. Throws NotFoundError.
     */
    async promote(id: string): Promise<StageChange> {
      return db.transaction(async (tx) => {
        const [model] = await tx.select().from(models).where(eq(models.id, id));
        if (!model) throw new NotFoundError('model', id);
        if (model.stage === 'production') return { model, replaced: null };
        const now = new Date();
        const [replaced] = await tx
          .update(models)
          .set({ stage: 'archived', stageChangedAt: now, retiredAt: now })
          .where(and(sameLine(model.productLineId), eq(models.stage, 'production')))
          .returning();
        const [row] = await tx
          .update(models)
          .set({ stage: 'production', stageChangedAt: now, retiredAt: null })
          .where(eq(models.id, id))
          .returning();
        return { model: row!, replaced: replaced ?? null };
      });
    },

    /**
     * Restores the line's previous production model (the archived one a promotion replaced last); the current
     * production model goes back to staging (a candidate again, and no longer a rollback target, so rolling back
     * twice walks further back instead of swapping two versions). ConflictError when there is nothing to restore.
     */
    async rollback(productLineId: string | null): Promise<StageChange> {
      return db.transaction(async (tx) => {
        const [target] = await tx
          .select()
          .from(models)
          .where(and(sameLine(productLineId), eq(models.stage, 'archived'), isNotNull(models.retiredAt)))
          .orderBy(desc(models.retiredAt), desc(models.version))
          .limit(1);
        if (!target) {
          throw new ConflictError(
            `product line ${productLineId ?? '(none)'} has no earlier production version to roll back to (a rollback restores the model the last promotion replaced)`,
          );
        }
        const now = new Date();
        const [replaced] = await tx
          .update(models)
          .set({ stage: 'staging', stageChangedAt: now, retiredAt: null })
          .where(and(sameLine(productLineId), eq(models.stage, 'production')))
          .returning();
        const [row] = await tx
          .update(models)
          .set({ stage: 'production', stageChangedAt: now, retiredAt: null })
          .where(eq(models.id, target.id))
          .returning();
        return { model: row!, replaced: replaced ?? null };
      });
    },

    /**
     * Moves a model to `staging` or `archived` by hand (production goes through promote). A model moved by hand is
     * no rollback target (`retired_at` cleared); one already in `stage` is left as it is. Throws NotFoundError.
     */
    async setStage(id: string, stage: Exclude<ModelStage, 'production'>): Promise<Model> {
      const [model] = await db.select().from(models).where(eq(models.id, id));
      if (!model) throw new NotFoundError('model', id);
      if (model.stage === stage) return model;
      const [row] = await db.update(models).set({ stage, stageChangedAt: new Date(), retiredAt: null }).where(eq(models.id, id)).returning();
      return row!;
    },

    /**
     * The former `active` flag: `true` promotes (see promote), `false` takes a production model back to staging
     * (the line then has no production model). Throws NotFoundError.
     */
    async setActive(id: string, active: boolean): Promise<Model> {
      if (active) return (await repo.promote(id)).model;
      const model = await repo.get(id);
      if (!model) throw new NotFoundError('model', id);
      return model.stage === 'production' ? repo.setStage(id, 'staging') : model;
    },

    /** Deletes the row (its files are the caller's). */
    async remove(id: string): Promise<boolean> {
      const deleted = await db.delete(models).where(eq(models.id, id)).returning({ id: models.id });
      return deleted.length > 0;
    },
  };
  return repo;
}
