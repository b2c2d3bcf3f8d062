/**
 * "Retrain": the model's run's graph (its pipeline or template, same params) started again as an ordinary run on the
 * dataset's latest version, which must be newer than the one the model trained on (add labelled images first).
 */
import type { Model, Repositories } from '@defectflow/db';
import { TRPCError } from '@trpc/server';
import { latestVersion } from '../datasets/versions.ts';
import { resolveRunSource, type SubmitRunResult, submitRun } from '../run-start.ts';
import type { RunnerControl } from '../trpc.ts';
import { trainingSource } from './source.ts';

export interface Retrain {
  result: SubmitRunResult;
  dataset: string;
  /** The dataset version the new run trains on, and the one the model trained on. */
  version: number;
  previousVersion: number;
}

export async function retrainModel(deps: { repo: Repositories; runner: RunnerControl; datasetsRoot: string }, model: Model): Promise<Retrain> {
  const source = await trainingSource(deps.repo, model);
  const { version } = await latestVersion(deps.datasetsRoot, source.dataset);
  if (source.version > 0 && version <= source.version) {
    throw new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: `Dataset ${source.dataset} has no version newer than v${source.version}, the one model ${model.id} trained on: add labelled images first`,
    });
  }
  const run = source.run;
  const graph = {
    ...run.graph,
    nodes: run.graph.nodes.map((n) => (n.id === source.nodeId ? { ...n, params: { ...n.params, version } } : n)),
  };
  const runSource = await resolveRunSource(deps.repo, {
    pipelineId: run.pipelineId ?? undefined,
    productLineId: run.productLineId ?? undefined,
    templateId: run.templateId ?? undefined,
    templateVersionId: run.templateVersionId ?? undefined,
  });
  const result = await submitRun(deps, { graph, source: runSource });
  return { result, dataset: source.dataset, version, previousVersion: source.version };
}
