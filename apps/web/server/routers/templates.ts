import type { TemplateVersion } from '@defectflow/db';
import { type PipelineGraph, PipelineGraphSchema, diffGraphPair, validateGraph } from '@defectflow/nodes';
import { TRPCError, type TRPCRouterRecord } from '@trpc/server';
import { z } from 'zod';
import { engineerProcedure, found, viewerProcedure } from '../trpc.ts';

const Id = z.string().min(1);

function versionView(v: TemplateVersion) {
  return { id: v.id, templateId: v.templateId, version: v.version, graph: v.graph, message: v.message, createdAt: v.createdAt };
}

/**
 * Copies a template graph with per-node param overrides. An override naming a node that does not exist,
 * or giving a value the node's schema rejects, is a BAD_REQUEST that names the node and the field.
 */
export function applyOverrides(graph: PipelineGraph, overrides: Record<string, Record<string, unknown>>): PipelineGraph {
  const ids = new Set(graph.nodes.map((n) => n.id));
  for (const nodeId of Object.keys(overrides)) {
    if (!ids.has(nodeId)) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: `override names node "${nodeId}", which is not in the template` });
    }
  }
  const result: PipelineGraph = {
    ...graph,
    nodes: graph.nodes.map((n) => (overrides[n.id] ? { ...n, params: { ...n.params, ...overrides[n.id] } } : n)),
    edges: graph.edges.map((e) => ({ ...e })),
  };
  const bad = validateGraph(result).errors.filter(
    (e) => e.code === 'param_invalid' && e.nodeId && overrides[e.nodeId] !== undefined,
  );
  if (bad.length) throw new TRPCError({ code: 'BAD_REQUEST', message: bad.map((e) => e.message).join('; ') });
  return result;
}

export const templatesRouter = {
  list: viewerProcedure
    .input(z.object({ productLineId: z.string().optional() }).optional())
    .query(({ ctx, input }) => ctx.repo.templates.list(input?.productLineId)),

  get: viewerProcedure.input(z.object({ id: Id })).query(async ({ ctx, input }) => {
    const row = found(await ctx.repo.templates.get(input.id), 'template', input.id);
    const { latestVersion, ...template } = row;
    return { template, latest: latestVersion ? versionView(latestVersion) : null };
  }),

  /** Creates the template when new and always appends a version. */
  save: engineerProcedure
    .input(
      z.object({
        templateId: Id.optional(),
        productLineId: Id,
        name: z.string().trim().min(1).max(120),
        description: z.string().max(2000).nullish(),
        graph: PipelineGraphSchema,
        message: z.string().max(2000).default(''),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      found(await ctx.repo.productLines.get(input.productLineId), 'product line', input.productLineId);
      const { template, version } = await ctx.repo.templates.save({ ...input, message: input.message || null });
      return { templateId: template.id, versionId: version.id, version: version.version };
    }),

  versions: viewerProcedure
    .input(z.object({ templateId: Id }))
    .query(async ({ ctx, input }) => (await ctx.repo.templates.versions(input.templateId)).map(versionView)),

  version: viewerProcedure.input(z.object({ versionId: Id })).query(async ({ ctx, input }) =>
    versionView(found(await ctx.repo.templates.getVersion(input.versionId), 'template version', input.versionId)),
  ),

  /** Appends a new version equal to an old one (history is never rewritten). */
  restore: engineerProcedure
    .input(z.object({ templateId: Id, versionId: Id, message: z.string().max(2000).optional() }))
    .mutation(async ({ ctx, input }) => {
      const v = await ctx.repo.templates.restore(input.templateId, input.versionId, input.message);
      return { templateId: v.templateId, versionId: v.id, version: v.version };
    }),

  diff: viewerProcedure.input(z.object({ fromVersionId: Id, toVersionId: Id })).query(async ({ ctx, input }) => {
    const from = found(await ctx.repo.templates.getVersion(input.fromVersionId), 'template version', input.fromVersionId);
    const to = found(await ctx.repo.templates.getVersion(input.toVersionId), 'template version', input.toVersionId);
    return diffGraphPair(from.graph, to.graph);
  }),

  /** A new pipeline from a template version (latest by default) with per-node param overrides. */
  instantiate: engineerProcedure
    .input(
      z.object({
        templateId: Id,
        versionId: Id.optional(),
        productLineId: Id,
        name: z.string().trim().min(1).max(120),
        overrides: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
      }),
    )
    .mutation(async ({ ctx, input }) => {
      const template = found(await ctx.repo.templates.get(input.templateId), 'template', input.templateId);
      found(await ctx.repo.productLines.get(input.productLineId), 'product line', input.productLineId);
      const version = input.versionId
        ? found(await ctx.repo.templates.getVersion(input.versionId), 'template version', input.versionId)
        : found(template.latestVersion, 'latest version of template', input.templateId);
      if (version.templateId !== template.id) {
        throw new TRPCError({ code: 'BAD_REQUEST', message: `version ${version.id} belongs to another template` });
      }
      const graph = applyOverrides(version.graph, input.overrides);
      const pipeline = await ctx.repo.pipelines.save({
        productLineId: input.productLineId,
        name: input.name,
        graph,
        templateId: template.id,
        templateVersionId: version.id,
      });
      return { pipelineId: pipeline.id };
    }),
} satisfies TRPCRouterRecord;
