/**
 * The sweep loop (browser-safe, no I/O of its own): starts the planner's trials in plan order, at most spec.parallel
 * at a time, through the caller's runTrial (the web server queues runs, the CLI executes in-process), and picks the
 * best. Budgets stop new trials from starting; trials already running always finish and are reported.
 */
import { createPlanner } from './planner.ts';
import { higherIsBetter, type SweepMetric } from './spec.ts';
import { trialGraph } from './trial-graph.ts';
import type { RunSweepOptions, SweepResult, SweepStop, TrialOutcome, TrialPlan, TrialRecord } from './types.ts';

export async function runSweep(options: RunSweepOptions): Promise<SweepResult> {
  const { graph, spec, signal } = options;
  const now = options.now ?? Date.now;
  const deadline = spec.budget.minutes === undefined ? Number.POSITIVE_INFINITY : now() + spec.budget.minutes * 60_000;
  const planner = createPlanner(graph, spec);
  const records: TrialRecord[] = [];
  const running = new Set<Promise<void>>();
  let queue: TrialPlan[] = [];
  let stop: SweepStop | null = null;

  const start = (plan: TrialPlan) => {
    const record: TrialRecord = { ...plan };
    records.push(record);
    options.onTrialStarted?.(plan);
    const done = runGuarded(options, plan).then((outcome) => {
      record.outcome = outcome;
      running.delete(done);
      options.onTrialFinished?.(record);
    });
    running.add(done);
  };

  for (;;) {
    if (queue.length === 0 && running.size === 0) {
      // Halving proposes its next rung only here: once every trial of the last one has finished.
      queue = planner.next(records.filter((r) => r.outcome));
      if (queue.length === 0) break;
    }
    while (stop === null && queue.length > 0 && running.size < spec.parallel) {
      if (signal?.aborted) stop = 'cancelled';
      else if (now() >= deadline) stop = 'minutes';
      else start(queue.shift() as TrialPlan);
    }
    if (stop !== null) break;
    if (running.size > 0) await Promise.race(running);
  }
  await Promise.all(running);
  if (signal?.aborted) stop = 'cancelled';
  records.sort((a, b) => a.index - b.index);
  return {
    trials: records,
    best: bestTrial(records, spec.metric),
    stoppedBy: stop ?? (planner.truncated ? 'trials' : 'done'),
  };
}

/** runTrial on the trial's graph; a throw becomes a failed outcome (one broken trial does not end the sweep). */
async function runGuarded(options: RunSweepOptions, plan: TrialPlan): Promise<TrialOutcome> {
  const started = Date.now();
  try {
    return await options.runTrial(plan, trialGraph(options.graph, plan.params));
  } catch (error) {
    return {
      status: options.signal?.aborted ? 'cancelled' : 'failed',
      score: null,
      reusedFeatures: false,
      durationMs: Date.now() - started,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * The best succeeded trial with a score, over every trial of every rung: highest (lowest for valLoss); ties to the
 * trial that trained more epochs, then to the lower index. Every trial is scored on the same validation split, so
 * scores of different halving rungs compare: a configuration's longer rerun may score below its shorter run, and
 * then the shorter one is the best (and its params, epochs included, are what "use these parameters" writes).
 */
export function bestTrial(records: readonly TrialRecord[], metric: SweepMetric): TrialRecord | null {
  const sign = higherIsBetter(metric) ? 1 : -1;
  const epochs = (r: TrialRecord) => r.outcome?.epochs ?? 0;
  let best: TrialRecord | null = null;
  for (const r of records) {
    if (r.outcome?.status !== 'succeeded' || typeof r.outcome.score !== 'number') continue;
    if (!best) {
      best = r;
      continue;
    }
    const diff = sign * (r.outcome.score - (best.outcome?.score as number));
    if (diff > 0 || (diff === 0 && (epochs(r) > epochs(best) || (epochs(r) === epochs(best) && r.index < best.index)))) best = r;
  }
  return best;
}
