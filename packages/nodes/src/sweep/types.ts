/** The driver's contract with whoever runs trials (the web server through the runner queue, the CLI in-process). */
import type { RunStatus } from '../events.ts';
import type { PipelineGraph } from '../graph.ts';
import type { SweepSpec, TrialParams } from './spec.ts';

/** One proposed trial. Halving trials carry the rung's epochs in `params` (the train node's `epochs`). */
export interface TrialPlan {
  /** 0-based, in the order trials were proposed. */
  index: number;
  params: TrialParams;
  /** Successive-halving rung (0 for grid and random). */
  rung: number;
  /**
   * The values of the dimensions upstream of the freeze boundary (augment, backbone, freeze): trials with the same
   * key share cached features, and are queued next to each other so each distinct upstream is computed once.
   */
  upstreamKey: string;
  /**
   * The pipeline's current settings (spec.baseline): the varied params at their current values. Trial 1, and its
   * promotions in successive halving (there with the rung's epochs).
   */
  baseline?: boolean;
}

/** What a finished trial reports back. */
export interface TrialOutcome {
  status: RunStatus;
  /** The sweep metric (trialScore), null when the trial failed or the metric was not produced. */
  score: number | null;
  /** The train node read every feature view from the cache (nothing was extracted for this trial). */
  reusedFeatures: boolean;
  /** Epochs the train node trained (trialEpochs; early stopping may end it before its epochs param): breaks ties for best. */
  epochs?: number | null;
  durationMs: number;
  runId?: string;
  error?: string;
}

export interface TrialRecord extends TrialPlan {
  outcome?: TrialOutcome;
}

/**
 * Why the sweep ended: done (the grid, the finite random space or every halving rung ran), trials (the trial budget
 * cut the search short: random draws, a grid larger than the budget), minutes (the time budget stopped new
 * trials), cancelled.
 */
export type SweepStop = 'done' | 'trials' | 'minutes' | 'cancelled';

export interface SweepResult {
  trials: TrialRecord[];
  /** bestTrial: the best succeeded, scored trial of any rung, null when none succeeded. */
  best: TrialRecord | null;
  stoppedBy: SweepStop;
}

export interface RunSweepOptions {
  /** The pipeline, already checked with checkSweep. */
  graph: PipelineGraph;
  spec: SweepSpec;
  /** Runs one trial to its end (trialGraph(graph, plan.params) is what to run) and reports the outcome; should not throw. */
  runTrial(plan: TrialPlan, graph: PipelineGraph): Promise<TrialOutcome>;
  onTrialStarted?(plan: TrialPlan): void;
  onTrialFinished?(record: TrialRecord): void;
  /** Cancels the sweep: no new trials start; runTrial implementations cancel their runs on it too. */
  signal?: AbortSignal;
  /** Clock for the minutes budget (tests). */
  now?: () => number;
}
