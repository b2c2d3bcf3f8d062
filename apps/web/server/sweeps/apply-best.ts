/**
 * "Use these parameters": a trial's params written back to where the sweep came from — its pipeline (graph
 * updated in place) or, when it was started from a template without a pipeline, a new template version.
 */
import type { Repositories, Sweep } from '@defectflow/db';
import { applyTrialParams, type PipelineGraph, splitParamKey, type TrialParams } from '@defectflow/nodes';
import { TRPCError } from '@trpc/server';
import { sweepView } from './view.ts';

export interface ApplyBestResult {
  params: TrialParams;
  pipelineId: string | null;
  templateId: string | null;
  templateVersion: number | null;
  /** The editor path that opens the updated document (the form the editor's own links use). */
  editorUrl: string;
}

function badRequest(message: string): never {
  throw new TRPCError({ code: 'BAD_REQUEST', message });
}

/** `train.learningRate=0.00123, head.dropout=0.3` (numbers to 4 significant digits: a label, not the values). */
export function describeParams(params: TrialParams): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}=${typeof value === 'number' && !Number.isInteger(value) ? Number(value.toPrecision(4)) : value}`)
    .join(', ');
}

/** The document's graph with the params written in; BAD_REQUEST when a node they name is no longer in it. */
function withParams(graph: PipelineGraph, params: TrialParams, what: string): PipelineGraph {
  const missing = Object.keys(params)
    .map((key) => splitParamKey(key).nodeId)
    .filter((nodeId) => !graph.nodes.some((n) => n.id === nodeId));
  if (missing.length) badRequest(`The ${what} no longer has node(s) ${[...new Set(missing)].map((id) => `"${id}"`).join(', ')}: copy the parameters instead`);
  return applyTrialParams(graph, params);
}

export async function applyBest(repo: Repositories, sweep: Sweep, trialIndex?: number): Promise<ApplyBestResult> {
  const view = sweepView(sweep, await repo.runs.listBySweeps([sweep.id]));
  const index = trialIndex ?? view.bestTrialIndex;
  if (index === null) badRequest(`Sweep "${sweep.name}" has no succeeded trial to take parameters from`);
  const trial = view.trials.find((t) => t.index === index);
  if (!trial) badRequest(`Sweep "${sweep.name}" has no trial ${index + 1}`);
  if (trial.status !== 'succeeded') badRequest(`Trial ${index + 1} of sweep "${sweep.name}" ${trial.status === 'queued' || trial.status === 'running' ? `is still ${trial.status}` : `did not succeed (${trial.status})`}: only a succeeded trial's parameters can be used`);
  const { params } = trial;

  const pipeline = sweep.pipelineId ? await repo.pipelines.get(sweep.pipelineId) : null;
  if (pipeline) {
    await repo.pipelines.save({
      id: pipeline.id,
      productLineId: pipeline.productLineId,
      name: pipeline.name,
      graph: withParams(pipeline.graph, params, `pipeline "${pipeline.name}"`),
    });
    return { params, pipelineId: pipeline.id, templateId: null, templateVersion: null, editorUrl: `/editor?pipeline=${encodeURIComponent(pipeline.id)}` };
  }
  const template = sweep.templateId ? await repo.templates.get(sweep.templateId) : null;
  if (template?.latestVersion) {
    const { version } = await repo.templates.save({
      templateId: template.id,
      productLineId: template.productLineId,
      name: template.name,
      graph: withParams(template.latestVersion.graph, params, `template "${template.name}"`),
      message: `sweep ${sweep.name}: ${describeParams(params)}`,
    });
    return {
      params,
      pipelineId: null,
      templateId: template.id,
      templateVersion: version.version,
      editorUrl: `/editor?template=${encodeURIComponent(template.id)}&version=${encodeURIComponent(version.id)}`,
    };
  }
  return badRequest(
    `Sweep "${sweep.name}" was not started from a saved pipeline or template (or it was deleted): there is no document to write the parameters to; copy them instead`,
  );
}
