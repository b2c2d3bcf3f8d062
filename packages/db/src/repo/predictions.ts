import { and, asc, desc, eq, gte, inArray, isNotNull, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type NewPrediction, type PredictionRow, predictions } from '../schema.ts';

export type CreatePredictionInput = Omit<NewPrediction, 'createdAt'> & { createdAt?: Date };

/** Where a page of the log continues: the last row seen (newest first, ties by id). */
export interface PredictionCursor {
  createdAt: Date;
  id: string;
}

export interface ListPredictionsOptions {
  modelId: string;
  limit: number;
  after?: PredictionCursor;
}

/** A kept image: enough to delete its file and account for its bytes. */
export interface KeptImage {
  id: string;
  imagePath: string;
  imageBytes: number;
}

/** One time bucket × class of a model's predictions (monitoring). */
export interface PredictionBucket {
  /** Start of the bucket, ms since the epoch. */
  t: number;
  label: string;
  count: number;
  lowConfidence: number;
  /** Rows with a drift score, their sum and max, and how many were drifted. */
  driftCount: number;
  driftSum: number;
  driftMax: number | null;
  drifted: number;
}

/** What the alarm evaluator needs of one prediction. */
export interface PredictionSignal {
  label: string;
  lowConfidence: boolean;
  drifted: boolean | null;
}

/** The review queue's counts for one model. */
export interface ReviewStats {
  /** Kept low-confidence or drifted images nobody reviewed yet. */
  waiting: number;
  /** Labelled and not yet added to a dataset. */
  labelled: number;
  /** Labelled and added to a dataset version. */
  added: number;
  discarded: number;
}

/** A prediction the review queue shows: a kept image that was low-confidence or drifted. */
const inReview = and(isNotNull(predictions.imagePath), or(eq(predictions.lowConfidence, true), eq(predictions.drifted, true)));

export function predictionsRepo(db: Db) {
  return {
    async insert(rows: CreatePredictionInput[]): Promise<PredictionRow[]> {
      if (rows.length === 0) return [];
      return db.insert(predictions).values(rows).returning();
    },

    async get(id: string): Promise<PredictionRow | null> {
      const [row] = await db.select().from(predictions).where(eq(predictions.id, id));
      return row ?? null;
    },

    /** A model's predictions, newest first, `limit` at a time from `after`. */
    async list({ modelId, limit, after }: ListPredictionsOptions): Promise<PredictionRow[]> {
      const page = after
        ? or(lt(predictions.createdAt, after.createdAt), and(eq(predictions.createdAt, after.createdAt), lt(predictions.id, after.id)))
        : undefined;
      return db
        .select()
        .from(predictions)
        .where(and(eq(predictions.modelId, modelId), page))
        .orderBy(desc(predictions.createdAt), desc(predictions.id))
        .limit(limit);
    },

    async count(modelId?: string): Promise<number> {
      const [row] = await db
        .select({ n: sql<number>`count(*)::int` })
        .from(predictions)
        .where(modelId ? eq(predictions.modelId, modelId) : undefined);
      return row?.n ?? 0;
    },

    /** A model's predictions since `from`, counted per `bucketMs` and class. */
    async buckets(modelId: string, from: Date, bucketMs: number): Promise<PredictionBucket[]> {
      const secs = bucketMs / 1000;
      const t = sql<number>`(floor(extract(epoch from ${predictions.createdAt}) / ${secs}) * ${secs} * 1000)::float8`;
      const rows = await db
        .select({
          t,
          label: predictions.label,
          count: sql<number>`count(*)::int`,
          lowConfidence: sql<number>`count(*) filter (where ${predictions.lowConfidence})::int`,
          driftCount: sql<number>`count(${predictions.drift})::int`,
          driftSum: sql<number>`coalesce(sum(${predictions.drift}), 0)::float8`,
          driftMax: sql<number | null>`max(${predictions.drift})::float8`,
          drifted: sql<number>`count(*) filter (where ${predictions.drifted})::int`,
        })
        .from(predictions)
        .where(and(eq(predictions.modelId, modelId), gte(predictions.createdAt, from)))
        .groupBy(sql`1`, predictions.label)
        .orderBy(sql`1`);
      return rows.map((r) => ({ ...r, t: Number(r.t), driftSum: Number(r.driftSum), driftMax: r.driftMax === null ? null : Number(r.driftMax) }));
    },

    /** Confidence histogram since `from`: counts of `bins` equal bins over 0..1 (1.0 in the last). */
    async confidenceHistogram(modelId: string, from: Date, bins: number): Promise<number[]> {
      const bin = sql<number>`least(floor(${predictions.confidence} * ${bins}), ${bins - 1})::int`;
      const rows = await db
        .select({ bin, n: sql<number>`count(*)::int` })
        .from(predictions)
        .where(and(eq(predictions.modelId, modelId), gte(predictions.createdAt, from)))
        .groupBy(sql`1`);
      const out = new Array<number>(bins).fill(0);
      for (const r of rows) if (r.bin >= 0 && r.bin < bins) out[r.bin] = r.n;
      return out;
    },

    /** The model's last `limit` predictions, oldest first (the alarm evaluator's window after a restart). */
    async recentSignals(modelId: string, limit: number): Promise<PredictionSignal[]> {
      const rows = await db
        .select({ label: predictions.label, lowConfidence: predictions.lowConfidence, drifted: predictions.drifted })
        .from(predictions)
        .where(eq(predictions.modelId, modelId))
        .orderBy(desc(predictions.createdAt), desc(predictions.id))
        .limit(limit);
      return rows.reverse();
    },

    /** The model's images waiting for review, oldest first. */
    async reviewQueue(modelId: string, limit: number): Promise<PredictionRow[]> {
      return db
        .select()
        .from(predictions)
        .where(and(eq(predictions.modelId, modelId), inReview, isNull(predictions.reviewedAt)))
        .orderBy(asc(predictions.createdAt), asc(predictions.id))
        .limit(limit);
    },

    async reviewStats(modelId: string): Promise<ReviewStats> {
      const [row] = await db
        .select({
          waiting: sql<number>`count(*) filter (where ${predictions.reviewedAt} is null)::int`,
          labelled: sql<number>`count(*) filter (where ${predictions.reviewedLabel} is not null and ${predictions.addedVersion} is null)::int`,
          added: sql<number>`count(*) filter (where ${predictions.addedVersion} is not null)::int`,
          discarded: sql<number>`count(*) filter (where ${predictions.reviewedAt} is not null and ${predictions.reviewedLabel} is null)::int`,
        })
        .from(predictions)
        .where(and(eq(predictions.modelId, modelId), inReview));
      return row ?? { waiting: 0, labelled: 0, added: 0, discarded: 0 };
    },

    /**
     * Records a review (label null: discarded); a row already added to a dataset is not changed (null returned).
     * Reviewing again overwrites the previous decision (the queue's "back").
     */
    async review(id: string, label: string | null, by: string | null): Promise<PredictionRow | null> {
      const [row] = await db
        .update(predictions)
        .set({ reviewedLabel: label, reviewedAt: new Date(), reviewedBy: by })
        .where(and(eq(predictions.id, id), isNull(predictions.addedVersion)))
        .returning();
      return row ?? null;
    },

    /** Labelled images of a model with their file still kept and not yet added to a dataset, oldest first. */
    async labelledNotAdded(modelId: string): Promise<PredictionRow[]> {
      return db
        .select()
        .from(predictions)
        .where(
          and(eq(predictions.modelId, modelId), isNotNull(predictions.reviewedLabel), isNull(predictions.addedVersion), isNotNull(predictions.imagePath)),
        )
        .orderBy(asc(predictions.createdAt), asc(predictions.id));
    },

    async markAdded(ids: string[], dataset: string, version: number): Promise<void> {
      if (ids.length === 0) return;
      await db.update(predictions).set({ addedDataset: dataset, addedVersion: version }).where(inArray(predictions.id, ids));
    },

    /** Bytes of every image still kept on disk. */
    async keptImageBytes(): Promise<number> {
      const [row] = await db
        .select({ bytes: sql<string>`coalesce(sum(${predictions.imageBytes}), 0)` })
        .from(predictions)
        .where(isNotNull(predictions.imagePath));
      return Number(row?.bytes ?? 0);
    },

    /** The oldest kept images first (the image budget drops these). */
    async oldestKeptImages(limit: number): Promise<KeptImage[]> {
      const rows = await db
        .select({ id: predictions.id, imagePath: predictions.imagePath, imageBytes: predictions.imageBytes })
        .from(predictions)
        .where(isNotNull(predictions.imagePath))
        .orderBy(asc(predictions.createdAt), asc(predictions.id))
        .limit(limit);
      return rows as KeptImage[];
    },

    /** Forgets the rows' image files (the rows, with their hashes, stay). */
    async clearImages(ids: string[]): Promise<void> {
      if (ids.length === 0) return;
      await db.update(predictions).set({ imagePath: null }).where(inArray(predictions.id, ids));
    },

    /** Deletes up to `limit` rows made before `cutoff`, oldest first; returns them (their kept files are the caller's). */
    async removeOlderThan(cutoff: Date, limit: number): Promise<Array<{ id: string; imagePath: string | null; imageBytes: number }>> {
      const doomed = db
        .select({ id: predictions.id })
        .from(predictions)
        .where(lt(predictions.createdAt, cutoff))
        .orderBy(asc(predictions.createdAt))
        .limit(limit);
      return db
        .delete(predictions)
        .where(inArray(predictions.id, doomed))
        .returning({ id: predictions.id, imagePath: predictions.imagePath, imageBytes: predictions.imageBytes });
    },
  };
}
