import type { RunEvent } from '@defectflow/nodes';
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { NotFoundError } from '../errors.ts';
import { runEvents, runs } from '../schema.ts';

export interface AppendResult {
  /** Events actually stored (duplicates of an already stored (runId, seq) are ignored). */
  inserted: number;
}

export interface AppendOptions {
  /**
   * Runs inside the same transaction as the insert, with the events this call newly stored (in seq
   * order; duplicates left out) and the transaction as a `Db`: row updates that follow from events
   * (status, metrics, models) commit together with them or not at all, so a replay applies each once.
   */
  onStored?: (stored: RunEvent[], tx: Db) => Promise<void>;
}

function toRow(event: RunEvent) {
  const { runId, seq, ts, type, ...rest } = event;
  const nodeId = 'nodeId' in rest && typeof rest.nodeId === 'string' ? rest.nodeId : null;
  return { runId, seq, type, nodeId, ts: new Date(ts), payload: rest as Record<string, unknown> };
}

function fromRow(row: typeof runEvents.$inferSelect): RunEvent {
  return { ...row.payload, type: row.type, runId: row.runId, seq: row.seq, ts: row.ts.getTime() } as RunEvent;
}

/**
 * runs.last_seq moved to the end of the unbroken stretch of stored seqs after it: the highest n such
 * that every seq 1..n is stored (it holds that before, so only seqs above it are looked at). A stored
 * seq past a gap does not count, so a reconnecting relay asks for the missing one again.
 */
const gapFreeLastSeq = sql`case when exists (
    select 1 from ${runEvents} e where e.run_id = ${runs.id} and e.seq = ${runs.lastSeq} + 1
  ) then (
    select min(e.seq) from ${runEvents} e
    where e.run_id = ${runs.id} and e.seq > ${runs.lastSeq}
      and not exists (select 1 from ${runEvents} n where n.run_id = e.run_id and n.seq = e.seq + 1)
  ) else ${runs.lastSeq} end`;

export function runEventsRepo(db: Db) {
  return {
    /**
     * Stores events idempotently (ON CONFLICT (run_id, seq) DO NOTHING), advances runs.last_seq gap-free
     * and runs `onStored` — all in one transaction. Throws NotFoundError when an event names a run that
     * has no row.
     */
    async append(events: RunEvent[], options: AppendOptions = {}): Promise<AppendResult> {
      if (events.length === 0) return { inserted: 0 };
      const runIds = [...new Set(events.map((e) => e.runId))];
      return db.transaction(async (tx) => {
        const known = await tx.select({ id: runs.id }).from(runs).where(inArray(runs.id, runIds));
        const missing = runIds.find((id) => !known.some((k) => k.id === id));
        if (missing) throw new NotFoundError('run', missing);
        const inserted = await tx
          .insert(runEvents)
          .values(events.map(toRow))
          .onConflictDoNothing({ target: [runEvents.runId, runEvents.seq] })
          .returning({ runId: runEvents.runId, seq: runEvents.seq });
        await tx.update(runs).set({ lastSeq: gapFreeLastSeq }).where(inArray(runs.id, runIds));
        if (options.onStored && inserted.length > 0) {
          const isNew = new Set(inserted.map((r) => `${r.runId}\n${r.seq}`));
          const stored = events.filter((e) => isNew.delete(`${e.runId}\n${e.seq}`)).sort((a, b) => a.seq - b.seq);
          await options.onStored(stored, tx as unknown as Db);
        }
        return { inserted: inserted.length };
      });
    },

    /** Events with seq > sinceSeq, in seq order. */
    async list(runId: string, sinceSeq = 0): Promise<RunEvent[]> {
      const rows = await db
        .select()
        .from(runEvents)
        .where(and(eq(runEvents.runId, runId), gt(runEvents.seq, sinceSeq)))
        .orderBy(asc(runEvents.seq));
      return rows.map(fromRow);
    },

    /** A run's events of these types only, in seq order (e.g. the nodes' summaries: node.finished, node.cached). */
    async listOfTypes(runId: string, types: RunEvent['type'][]): Promise<RunEvent[]> {
      if (types.length === 0) return [];
      const rows = await db
        .select()
        .from(runEvents)
        .where(and(eq(runEvents.runId, runId), inArray(runEvents.type, types)))
        .orderBy(asc(runEvents.seq));
      return rows.map(fromRow);
    },

    /** The highest n such that seqs 1..n of the run are all stored (0 when none or the run does not exist). */
    async lastSeq(runId: string): Promise<number> {
      const [row] = await db.select({ lastSeq: runs.lastSeq }).from(runs).where(eq(runs.id, runId));
      return row?.lastSeq ?? 0;
    },
  };
}
