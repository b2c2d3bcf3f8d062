import type { PipelineGraph } from '@defectflow/nodes';
import { desc, eq } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { type Pipeline, pipelines } from '../schema.ts';

export interface SavePipelineInput {
  /** Existing pipeline to overwrite; a given id that does not exist yet is created with that id. */
  id?: string;
  productLineId: string;
  name: string;
  graph: PipelineGraph;
  templateId?: string | null;
  templateVersionId?: string | null;
}

export function pipelinesRepo(db: Db) {
  return {
    /** Pipelines, most recently changed first. */
    async list(productLineId?: string): Promise<Pipeline[]> {
      return db
        .select()
        .from(pipelines)
        .where(productLineId ? eq(pipelines.productLineId, productLineId) : undefined)
        .orderBy(desc(pipelines.updatedAt));
    },

    async get(id: string): Promise<Pipeline | null> {
      const [row] = await db.select().from(pipelines).where(eq(pipelines.id, id));
      return row ?? null;
    },

    /** Insert or update. templateId/templateVersionId: undefined keeps the stored link, null clears it. */
    async save(input: SavePipelineInput): Promise<Pipeline> {
      const values = {
        productLineId: input.productLineId,
        name: input.name,
        graph: input.graph,
        ...(input.templateId !== undefined ? { templateId: input.templateId } : {}),
        ...(input.templateVersionId !== undefined ? { templateVersionId: input.templateVersionId } : {}),
      };
      const [row] = await db
        .insert(pipelines)
        .values({ ...(input.id ? { id: input.id } : {}), ...values })
        .onConflictDoUpdate({ target: pipelines.id, set: { ...values, updatedAt: new Date() } })
        .returning();
      return row!;
    },

    /** Runs keep their own graph copy and lose the link. */
    async remove(id: string): Promise<boolean> {
      const deleted = await db.delete(pipelines).where(eq(pipelines.id, id)).returning({ id: pipelines.id });
      return deleted.length > 0;
    },
  };
}
