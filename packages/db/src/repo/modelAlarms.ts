import { and, desc, eq, isNull } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type AlarmRule, type ModelAlarm, modelAlarms } from '../schema.ts';

export interface RaiseAlarmInput {
  modelId: string;
  rule: AlarmRule;
  value: number;
  threshold: number;
  window: number;
  message: string;
  raisedAt?: Date;
}

export function modelAlarmsRepo(db: Db) {
  return {
    /** Opens an alarm; null when one is already open for the model and rule (the partial unique index decides). */
    async raise(input: RaiseAlarmInput): Promise<ModelAlarm | null> {
      const [row] = await db.insert(modelAlarms).values(input).onConflictDoNothing().returning();
      return row ?? null;
    },

    /** Closes the open alarm of the model and rule, if any; returns it. */
    async clear(modelId: string, rule: AlarmRule, at = new Date()): Promise<ModelAlarm | null> {
      const [row] = await db
        .update(modelAlarms)
        .set({ clearedAt: at })
        .where(and(eq(modelAlarms.modelId, modelId), eq(modelAlarms.rule, rule), isNull(modelAlarms.clearedAt)))
        .returning();
      return row ?? null;
    },

    async open(modelId: string): Promise<ModelAlarm[]> {
      return db
        .select()
        .from(modelAlarms)
        .where(and(eq(modelAlarms.modelId, modelId), isNull(modelAlarms.clearedAt)))
        .orderBy(desc(modelAlarms.raisedAt));
    },

    /** The model's alarms, newest first (open and cleared). */
    async list(modelId: string, limit = 50): Promise<ModelAlarm[]> {
      return db.select().from(modelAlarms).where(eq(modelAlarms.modelId, modelId)).orderBy(desc(modelAlarms.raisedAt)).limit(limit);
    },
  };
}
