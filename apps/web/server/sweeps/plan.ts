/** How many trials a sweep plans, for "done of planned" (the driver proposes them; this only counts). */
import { halvingSchedule, type PipelineGraph, planTrials, resolveParams, type SweepSpec } from '@defectflow/nodes';

/** Grid and random: the whole planned list. Halving: the sum over its rungs (fewer run when trials fail). */
export function plannedTrialCount(graph: PipelineGraph, spec: SweepSpec): number {
  if (spec.strategy !== 'halving') return planTrials(graph, spec).length;
  const train = graph.nodes.find((n) => n.type === 'train');
  const maxEpochs = Number(resolveParams('train', train?.params ?? {})?.epochs ?? train?.params.epochs ?? 1);
  const rungs = halvingSchedule({ minEpochs: spec.halving.minEpochs, maxEpochs, eta: spec.halving.eta, budget: spec.budget.trials });
  return rungs.reduce((sum, rung) => sum + rung.trials, 0);
}
