/**
 * What a deployed model was trained on: its run, and the run's dataset node (folder and pinned version). The review
 * loop adds labelled images to that dataset and retrains that run's graph on the new version.
 */
import type { Model, Repositories, Run } from '@defectflow/db';
import { TRPCError } from '@trpc/server';

export interface TrainingSource {
  run: Run;
  /** The run's dataset node. */
  nodeId: string;
  /** The dataset folder, relative to DATASETS_ROOT (= the dataset's name). */
  dataset: string;
  /** The version the run was pinned to (0: latest at the time, for runs made before pinning). */
  version: number;
}

export async function trainingSource(repo: Repositories, model: Model): Promise<TrainingSource> {
  const run = model.runId ? await repo.runs.get(model.runId) : null;
  if (!run) {
    throw new TRPCError({ code: 'PRECONDITION_FAILED', message: `Model ${model.id} has no run (it was deleted), so its training dataset is unknown` });
  }
  const nodes = run.graph.nodes.filter((n) => n.type === 'dataset' && typeof n.params.path === 'string');
  const [node] = nodes;
  if (!node || nodes.length > 1) {
    throw new TRPCError({
      code: 'PRECONDITION_FAILED',
      message: `Run ${run.id} of model ${model.id} has ${nodes.length} dataset nodes; the review loop needs exactly one to know where images go`,
    });
  }
  return {
    run,
    nodeId: node.id,
    dataset: node.params.path as string,
    version: typeof node.params.version === 'number' ? node.params.version : 0,
  };
}
