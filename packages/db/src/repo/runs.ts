import type { PipelineGraph } from '@defectflow/nodes';
import { and, desc, eq, inArray, isNull, or, type SQL } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { NotFoundError } from '../errors.ts';
import { type Run, type RunRowStatus, runs, type SweepTrialInfo } from '../schema.ts';

export interface CreateRunInput {
  id?: string;
  pipelineId?: string | null;
  productLineId?: string | null;
  /** The template (and version) it was started from, if any. */
  templateId?: string | null;
  templateVersionId?: string | null;
  /** The exact graph that will run. */
  graph: PipelineGraph;
  status?: 'queued';
  /** The runner that will hold the run (its stable id); null when not known yet. */
  runnerId?: string | null;
  /** A sweep's trial or final run. */
  sweepId?: string | null;
  sweepTrial?: SweepTrialInfo | null;
}

/** Fields a run may change after creation. */
export type RunPatch = Partial<
  Pick<
    Run,
    'status' | 'backend' | 'device' | 'error' | 'metrics' | 'summary' | 'startedAt' | 'finishedAt' | 'runnerId' | 'name' | 'notes' | 'sweepTrial'
  >
>;

export interface ListUnfinishedOptions {
  /**
   * Only runs held by this runner, and legacy runs that name none (null: only those): a web server
   * judges (marks interrupted) only the runs of its own runner, never those of another server's runner.
   */
  runnerId?: string | null;
}

export interface ListRunsOptions {
  pipelineId?: string;
  productLineId?: string;
  templateId?: string;
  /** Runs of sweeps (trials, final runs) are left out unless true: the sweep page lists them. */
  includeSweepRuns?: boolean;
  /** Default 50. */
  limit?: number;
}

/** A sweep's run as its sweep page needs it (runs.listBySweeps). */
export type SweepRun = Pick<Run, 'id' | 'sweepId' | 'sweepTrial' | 'status' | 'error' | 'summary' | 'createdAt' | 'startedAt' | 'finishedAt'>;

const UNFINISHED: RunRowStatus[] = ['queued', 'running'];

export function runsRepo(db: Db) {
  return {
    async create(input: CreateRunInput): Promise<Run> {
      const [row] = await db
        .insert(runs)
        .values({
          ...(input.id ? { id: input.id } : {}),
          pipelineId: input.pipelineId ?? null,
          productLineId: input.productLineId ?? null,
          templateId: input.templateId ?? null,
          templateVersionId: input.templateVersionId ?? null,
          graph: input.graph,
          status: input.status ?? 'queued',
          runnerId: input.runnerId ?? null,
          sweepId: input.sweepId ?? null,
          sweepTrial: input.sweepTrial ?? null,
        })
        .returning();
      return row!;
    },

    async get(id: string): Promise<Run | null> {
      const [row] = await db.select().from(runs).where(eq(runs.id, id));
      return row ?? null;
    },

    /** Newest first. */
    async list(options: ListRunsOptions = {}): Promise<Run[]> {
      const filters: SQL[] = [];
      if (options.pipelineId) filters.push(eq(runs.pipelineId, options.pipelineId));
      if (options.productLineId) filters.push(eq(runs.productLineId, options.productLineId));
      if (options.templateId) filters.push(eq(runs.templateId, options.templateId));
      if (!options.includeSweepRuns) filters.push(isNull(runs.sweepId));
      return db
        .select()
        .from(runs)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(runs.createdAt), desc(runs.id))
        .limit(options.limit ?? 50);
    },

    /**
     * The runs of these sweeps (trials and final runs), oldest first, without their graph and metrics: a sweep page
     * polls this for every trial.
     */
    async listBySweeps(sweepIds: string[]): Promise<SweepRun[]> {
      if (sweepIds.length === 0) return [];
      return db
        .select({
          id: runs.id,
          sweepId: runs.sweepId,
          sweepTrial: runs.sweepTrial,
          status: runs.status,
          error: runs.error,
          summary: runs.summary,
          createdAt: runs.createdAt,
          startedAt: runs.startedAt,
          finishedAt: runs.finishedAt,
        })
        .from(runs)
        .where(inArray(runs.sweepId, sweepIds))
        .orderBy(runs.createdAt, runs.id);
    },

    /** Throws NotFoundError when the run does not exist. */
    async update(id: string, patch: RunPatch): Promise<Run> {
      if (Object.keys(patch).length === 0) {
        const [current] = await db.select().from(runs).where(eq(runs.id, id));
        if (!current) throw new NotFoundError('run', id);
        return current;
      }
      const [row] = await db.update(runs).set(patch).where(eq(runs.id, id)).returning();
      if (!row) throw new NotFoundError('run', id);
      return row;
    },

    /** Marks still-queued/running runs as interrupted (e.g. the runner died); finished runs are left alone. */
    async markInterrupted(ids: string[], error = 'Interrupted: the runner stopped before the run finished'): Promise<Run[]> {
      if (ids.length === 0) return [];
      return db
        .update(runs)
        .set({ status: 'interrupted', error, finishedAt: new Date() })
        .where(and(inArray(runs.id, ids), inArray(runs.status, UNFINISHED)))
        .returning();
    },

    /** Runs still queued or running, oldest first (with `runnerId`: that runner's and those naming none). */
    async listUnfinished(options: ListUnfinishedOptions = {}): Promise<Run[]> {
      const unfinished = inArray(runs.status, UNFINISHED);
      const { runnerId } = options;
      const owner =
        runnerId === undefined ? undefined : runnerId === null ? isNull(runs.runnerId) : or(eq(runs.runnerId, runnerId), isNull(runs.runnerId));
      return db.select().from(runs).where(owner ? and(unfinished, owner) : unfinished).orderBy(runs.createdAt);
    },

    /** Deletes a run and (cascade) its events. */
    async remove(id: string): Promise<boolean> {
      const deleted = await db.delete(runs).where(eq(runs.id, id)).returning({ id: runs.id });
      return deleted.length > 0;
    },
  };
}
