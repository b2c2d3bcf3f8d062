import type { PipelineGraph } from '@defectflow/nodes';
import { and, desc, eq, inArray, isNull, or, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { NotFoundError } from '../errors.ts';
import { type Sweep, type SweepRowStatus, sweeps } from '../schema.ts';

export interface CreateSweepInput {
  id?: string;
  name: string;
  productLineId?: string | null;
  pipelineId?: string | null;
  templateId?: string | null;
  templateVersionId?: string | null;
  /** The pipeline as started (dataset versions pinned). */
  graph: PipelineGraph;
  /** The parsed SweepSpec. */
  spec: Record<string, unknown>;
  trialsPlanned: number;
  /** Who drives it (schema.ts: sweeps.driverId). */
  driverId?: string | null;
}

/** Fields a sweep may change after creation. */
export type SweepPatch = Partial<
  Pick<Sweep, 'status' | 'trialsPlanned' | 'bestTrialIndex' | 'finalRunId' | 'finalMetrics' | 'error' | 'finishedAt'>
>;

export interface ListSweepsOptions {
  productLineId?: string;
  /** Default 50. */
  limit?: number;
}

export function sweepsRepo(db: Db) {
  return {
    async create(input: CreateSweepInput): Promise<Sweep> {
      const [row] = await db
        .insert(sweeps)
        .values({
          ...(input.id ? { id: input.id } : {}),
          name: input.name,
          productLineId: input.productLineId ?? null,
          pipelineId: input.pipelineId ?? null,
          templateId: input.templateId ?? null,
          templateVersionId: input.templateVersionId ?? null,
          graph: input.graph,
          spec: input.spec,
          trialsPlanned: input.trialsPlanned,
          driverId: input.driverId ?? null,
        })
        .returning();
      return row!;
    },

    async get(id: string): Promise<Sweep | null> {
      const [row] = await db.select().from(sweeps).where(eq(sweeps.id, id));
      return row ?? null;
    },

    /** Newest first. */
    async list(options: ListSweepsOptions = {}): Promise<Sweep[]> {
      const filters: SQL[] = [];
      if (options.productLineId) filters.push(eq(sweeps.productLineId, options.productLineId));
      return db
        .select()
        .from(sweeps)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(sweeps.createdAt), desc(sweeps.id))
        .limit(options.limit ?? 50);
    },

    /** Throws NotFoundError when the sweep does not exist. */
    async update(id: string, patch: SweepPatch): Promise<Sweep> {
      const [row] = Object.keys(patch).length
        ? await db.update(sweeps).set(patch).where(eq(sweeps.id, id)).returning()
        : await db.select().from(sweeps).where(eq(sweeps.id, id));
      if (!row) throw new NotFoundError('sweep', id);
      return row;
    },

    /**
     * Ends a running sweep with this status (and patch); null when it is not running any more (e.g. it was
     * marked interrupted meanwhile): a finished sweep never changes status again.
     */
    async finish(id: string, status: Exclude<SweepRowStatus, 'running'>, patch: SweepPatch = {}): Promise<Sweep | null> {
      const [row] = await db
        .update(sweeps)
        .set({ ...patch, status, finishedAt: patch.finishedAt ?? new Date() })
        .where(and(eq(sweeps.id, id), eq(sweeps.status, 'running')))
        .returning();
      return row ?? null;
    },

    /** Running sweeps (with `driverId`: those this driver drives, or no one), oldest first. */
    async listRunning(options: { driverId?: string | null } = {}): Promise<Sweep[]> {
      const running = eq(sweeps.status, 'running');
      const { driverId } = options;
      const owner =
        driverId === undefined ? undefined : driverId === null ? isNull(sweeps.driverId) : or(eq(sweeps.driverId, driverId), isNull(sweeps.driverId));
      return db.select().from(sweeps).where(owner ? and(running, owner) : running).orderBy(sweeps.createdAt);
    },

    /** Marks these sweeps interrupted when still running; returns those it changed. */
    async markInterrupted(ids: string[], error: string): Promise<Sweep[]> {
      if (ids.length === 0) return [];
      return db
        .update(sweeps)
        .set({ status: 'interrupted', error, finishedAt: new Date() })
        .where(and(inArray(sweeps.id, ids), eq(sweeps.status, 'running')))
        .returning();
    },
  };
}
