import { asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { NotFoundError } from '../errors.ts';
import { type Dataset, type DatasetVersion, datasets, datasetVersions } from '../schema.ts';

export interface UpsertDatasetInput {
  name: string;
  /** Relative to DATASETS_ROOT. */
  path: string;
}

export function datasetsRepo(db: Db) {
  return {
    /** By name. */
    async list(): Promise<Dataset[]> {
      return db.select().from(datasets).orderBy(asc(datasets.name));
    },

    async getByName(name: string): Promise<Dataset | null> {
      const [row] = await db.select().from(datasets).where(eq(datasets.name, name));
      return row ?? null;
    },

    /** Registers a dataset by its unique name, or updates the path of the existing one. */
    async upsert(input: UpsertDatasetInput): Promise<Dataset> {
      const [row] = await db
        .insert(datasets)
        .values({ name: input.name, path: input.path })
        .onConflictDoUpdate({ target: datasets.name, set: { path: input.path, updatedAt: new Date() } })
        .returning();
      return row!;
    },

    /**
     * Records a new version of a dataset (for uploads): version = current + 1, stored on the dataset too.
     */
    async addVersion(name: string, manifest: unknown, message?: string | null): Promise<DatasetVersion> {
      return db.transaction(async (tx) => {
        const [bumped] = await tx
          .update(datasets)
          .set({ version: sql`${datasets.version} + 1`, updatedAt: new Date() })
          .where(eq(datasets.name, name))
          .returning();
        if (!bumped) throw new NotFoundError('dataset', name);
        const [row] = await tx
          .insert(datasetVersions)
          .values({ datasetId: bumped.id, version: bumped.version, manifest, message: message ?? null })
          .returning();
        return row!;
      });
    },

    /**
     * Records a version whose number the caller fixed (the dataset folder's `.versions/v<N>.csv` is the
     * source of truth, the runner reads it); the dataset's current version becomes the highest seen.
     * Recording the same number twice is a no-op, so a crash between file and row can be replayed.
     */
    async recordVersion(name: string, version: number, manifest: unknown, message?: string | null): Promise<DatasetVersion | null> {
      return db.transaction(async (tx) => {
        const [row] = await tx.select().from(datasets).where(eq(datasets.name, name));
        if (!row) throw new NotFoundError('dataset', name);
        const [inserted] = await tx
          .insert(datasetVersions)
          .values({ datasetId: row.id, version, manifest, message: message ?? null })
          .onConflictDoNothing()
          .returning();
        await tx
          .update(datasets)
          .set({ version: sql`greatest(${datasets.version}, ${version})`, updatedAt: new Date() })
          .where(eq(datasets.id, row.id));
        return inserted ?? null;
      });
    },

    /** Versions of a dataset, newest first. */
    async versions(datasetId: string): Promise<DatasetVersion[]> {
      return db
        .select()
        .from(datasetVersions)
        .where(eq(datasetVersions.datasetId, datasetId))
        .orderBy(sql`${datasetVersions.version} desc`);
    },
  };
}
