import type { PipelineGraph } from '@defectflow/nodes';
import { and, asc, desc, eq, max } from 'drizzle-orm';
import type { Db } from '../client.ts';
import { ConflictError, NotFoundError } from '../errors.ts';
import { type Template, type TemplateVersion, templates, templateVersions } from '../schema.ts';

export type TemplateWithLatest = Template & { latestVersion: TemplateVersion | null };

export interface SaveTemplateInput {
  /** Existing template to append a version to; omitted → found by (productLineId, name) or created. */
  templateId?: string;
  productLineId: string;
  name: string;
  description?: string | null;
  graph: PipelineGraph;
  message?: string | null;
}

type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/** Appends version max+1. The caller holds the template row lock, so concurrent saves cannot pick the same number. */
async function appendVersion(tx: Tx, templateId: string, graph: PipelineGraph, message: string | null) {
  const [{ current } = { current: null }] = await tx
    .select({ current: max(templateVersions.version) })
    .from(templateVersions)
    .where(eq(templateVersions.templateId, templateId));
  const [version] = await tx
    .insert(templateVersions)
    .values({ templateId, version: (current ?? 0) + 1, graph, message })
    .returning();
  await tx.update(templates).set({ updatedAt: new Date() }).where(eq(templates.id, templateId));
  return version!;
}

async function lockTemplate(tx: Tx, templateId: string): Promise<Template> {
  const [row] = await tx.select().from(templates).where(eq(templates.id, templateId)).for('update');
  if (!row) throw new NotFoundError('template', templateId);
  return row;
}

export function templatesRepo(db: Db) {
  return {
    /** Templates (newest change first), each with its latest version. */
    async list(productLineId?: string): Promise<TemplateWithLatest[]> {
      const rows = await db
        .select()
        .from(templates)
        .where(productLineId ? eq(templates.productLineId, productLineId) : undefined)
        .orderBy(desc(templates.updatedAt), asc(templates.name));
      const latest = await db
        .selectDistinctOn([templateVersions.templateId])
        .from(templateVersions)
        .orderBy(templateVersions.templateId, desc(templateVersions.version));
      const byTemplate = new Map(latest.map((v) => [v.templateId, v]));
      return rows.map((t) => ({ ...t, latestVersion: byTemplate.get(t.id) ?? null }));
    },

    async get(id: string): Promise<TemplateWithLatest | null> {
      const [row] = await db.select().from(templates).where(eq(templates.id, id));
      if (!row) return null;
      const [latest] = await db
        .select()
        .from(templateVersions)
        .where(eq(templateVersions.templateId, id))
        .orderBy(desc(templateVersions.version))
        .limit(1);
      return { ...row, latestVersion: latest ?? null };
    },

    /**
     * Creates the template when new and ALWAYS appends a new version (one transaction).
     * With templateId, a changed name renames the template (ConflictError when taken in that product line).
     */
    async save(input: SaveTemplateInput): Promise<{ template: Template; version: TemplateVersion }> {
      return db.transaction(async (tx) => {
        let templateId = input.templateId;
        if (templateId) {
          const current = await lockTemplate(tx, templateId);
          if (current.productLineId !== input.productLineId) {
            throw new ConflictError(
              `Template ${templateId} belongs to product line ${current.productLineId}, not ${input.productLineId}`,
            );
          }
          if (current.name !== input.name || (input.description !== undefined && input.description !== current.description)) {
            const [clash] = await tx
              .select({ id: templates.id })
              .from(templates)
              .where(and(eq(templates.productLineId, input.productLineId), eq(templates.name, input.name)));
            if (clash && clash.id !== templateId) {
              throw new ConflictError(`A template named "${input.name}" already exists in this product line`);
            }
            await tx
              .update(templates)
              .set({ name: input.name, ...(input.description !== undefined ? { description: input.description } : {}) })
              .where(eq(templates.id, templateId));
          }
        } else {
          // Insert-or-find by the unique (product line, name), then lock the row.
          await tx
            .insert(templates)
            .values({ productLineId: input.productLineId, name: input.name, description: input.description ?? null })
            .onConflictDoNothing({ target: [templates.productLineId, templates.name] });
          const [row] = await tx
            .select()
            .from(templates)
            .where(and(eq(templates.productLineId, input.productLineId), eq(templates.name, input.name)))
            .for('update');
          templateId = row!.id;
        }
        const version = await appendVersion(tx, templateId, input.graph, input.message ?? null);
        const [template] = await tx.select().from(templates).where(eq(templates.id, templateId));
        return { template: template!, version };
      });
    },

    /** All versions of a template, newest first. */
    async versions(templateId: string): Promise<TemplateVersion[]> {
      return db
        .select()
        .from(templateVersions)
        .where(eq(templateVersions.templateId, templateId))
        .orderBy(desc(templateVersions.version));
    },

    async getVersion(versionId: string): Promise<TemplateVersion | null> {
      const [row] = await db.select().from(templateVersions).where(eq(templateVersions.id, versionId));
      return row ?? null;
    },

    /** Appends a new version whose graph equals version `versionId` (history is never rewritten). */
    async restore(templateId: string, versionId: string, message?: string | null): Promise<TemplateVersion> {
      return db.transaction(async (tx) => {
        await lockTemplate(tx, templateId);
        const [old] = await tx
          .select()
          .from(templateVersions)
          .where(and(eq(templateVersions.id, versionId), eq(templateVersions.templateId, templateId)));
        if (!old) throw new NotFoundError(`version of template ${templateId}`, versionId);
        return appendVersion(tx, templateId, old.graph, message ?? `Restored version ${old.version}`);
      });
    },

    /** Deletes a template and (cascade) its versions; pipelines keep their graph and lose the link. */
    async remove(templateId: string): Promise<boolean> {
      const deleted = await db.delete(templates).where(eq(templates.id, templateId)).returning({ id: templates.id });
      return deleted.length > 0;
    },
  };
}
