import type { RunEvent } from '@defectflow/nodes';
import { and, asc, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { NotFoundError } from '../errors.ts';
import { runEvents, runs } from '../schema.ts';

export interface AppendResult {
  /** Events actually stored (duplicates of an already stored (runId, seq) are ignored). */
  inserted: number;
}

function toRow(event: RunEvent) {
  const { runId, seq, ts, type, ...rest } = event;
  const nodeId = 'nodeId' in rest && typeof rest.nodeId === 'string' ? rest.nodeId : null;
  return { runId, seq, type, nodeId, ts: new Date(ts), payload: rest as Record<string, unknown> };
}

function fromRow(row: typeof runEvents.$inferSelect): RunEvent {
  return { ...row.payload, type: row.type, runId: row.runId, seq: row.seq, ts: row.ts.getTime() } as RunEvent;
}

export function runEventsRepo(db: Db) {
  return {
    /**
     * Stores events idempotently (ON CONFLICT (run_id, seq) DO NOTHING) and advances runs.last_seq to the
     * highest seq stored. Throws NotFoundError when an event names a run that has no row.
     */
    async append(events: RunEvent[]): Promise<AppendResult> {
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
          .returning({ seq: runEvents.seq });
        await tx
          .update(runs)
          .set({
            lastSeq: sql`greatest(${runs.lastSeq}, coalesce((select max(${runEvents.seq}) from ${runEvents} where ${runEvents.runId} = ${runs.id}), 0))`,
          })
          .where(inArray(runs.id, runIds));
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

    /** Highest stored seq of a run (0 when none or the run does not exist). */
    async lastSeq(runId: string): Promise<number> {
      const [row] = await db.select({ lastSeq: runs.lastSeq }).from(runs).where(eq(runs.id, runId));
      return row?.lastSeq ?? 0;
    },
  };
}
