import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  applyTrialParams,
  checkSweep,
  finalGraph,
  higherIsBetter,
  parseGraphJson,
  type PipelineGraph,
  type RunEventBody,
  runSweep,
  SWEEP_METRIC_LABELS,
  type SweepMetric,
  type SweepResult,
  type TrialOutcome,
  type TrialParams,
  type TrialRecord,
  trialEpochs,
  trialReusedFeatures,
  trialScore,
} from '@defectflow/nodes';
import { createOutputCache, type ExecuteOptions, execute } from '@defectflow/nodes/runtime';
import { initCliBackend } from '../backend.ts';
import { readCliEnv } from '../env.ts';
import { createProgressReporter } from '../progress.ts';
import { ensureSampleDataset, resultLines, summarizeRun, withDatasetPath } from './run.ts';

export interface SweepCommandOptions {
  pipelineFile: string;
  sweepFile: string;
  /** Write the pipeline with the best params here. */
  out?: string;
  dataset?: string;
  json: boolean;
}

/**
 * `defectflow sweep`: every trial runs in this process through the executor, one at a time (like one runner working
 * through its queue), sharing one output cache and the feature cache, so trials that only change the head or the
 * training reuse the features at the freeze boundary. Then the best params run once more, scored on the test split.
 */
export async function sweepCommand(opts: SweepCommandOptions): Promise<number> {
  const env = readCliEnv();
  const pipelineText = await readText(opts.pipelineFile, 'pipeline');
  const sweepText = await readText(opts.sweepFile, 'sweep');
  const parsed = parseGraphJson(pipelineText);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${opts.pipelineFile}: [${e.code}] ${e.message}`).join('\n'));
  let sweepJson: unknown;
  try {
    sweepJson = JSON.parse(sweepText);
  } catch (error) {
    process.stderr.write(`${opts.sweepFile}: not valid JSON (${error instanceof Error ? error.message : String(error)})\n`);
    return 2;
  }

  let graph: PipelineGraph = parsed.graph;
  let datasetsRoot = env.datasetsRoot;
  if (opts.dataset) {
    const dir = path.resolve(opts.dataset);
    if (!existsSync(dir)) throw new Error(`--dataset ${opts.dataset}: no such folder`);
    datasetsRoot = path.dirname(dir);
    graph = withDatasetPath(graph, path.basename(dir));
  }
  const check = checkSweep(graph, sweepJson);
  if (!check.ok) {
    for (const problem of check.problems) {
      if (problem.graphErrors) for (const e of problem.graphErrors) process.stderr.write(`${opts.pipelineFile}: [${e.code}] ${e.message}\n`);
      else process.stderr.write(`${opts.sweepFile}: [${problem.code}] ${problem.message}\n`);
    }
    return 2;
  }
  const { spec } = check;
  graph = check.graph;
  await ensureSampleDataset(graph, datasetsRoot);

  const backend = await initCliBackend(env.backend);
  const cache = createOutputCache({ maxEntries: env.outputCacheEntries });
  const sweepId = `cli-sweep-${Date.now().toString(36)}`;
  const dirs = (runId: string): ExecuteOptions['dirs'] => ({
    dataDir: env.dataDir,
    datasetsRoot,
    runDir: path.join(env.dataDir, 'runs', runId),
    modelsDir: path.join(env.dataDir, 'models'),
    cacheDir: path.join(env.dataDir, 'cache'),
  });
  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write('\nsweep: cancelling (running trial stops, no new trials)…\n');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  let queue: Promise<unknown> = Promise.resolve();

  process.stderr.write(`sweep: ${spec.strategy}, ${spec.budget.trials} trials at most, ranked by ${SWEEP_METRIC_LABELS[spec.metric]}\n`);
  let result: SweepResult;
  try {
    result = await runSweep({
      graph,
      spec,
      signal: controller.signal,
      // One trial executes at a time, in the order the driver started them (they share this process's CPU).
      runTrial: (plan, trial) => {
        const turn = queue.then(async (): Promise<TrialOutcome> => {
          const runId = `${sweepId}-t${plan.index}`;
          const started = performance.now();
          const run = await execute({
            runId,
            graph: trial,
            signal: controller.signal,
            backend,
            cache,
            dirs: dirs(runId),
            sink: (event) => trialProblem(plan.index, event),
          });
          return {
            status: run.status,
            score: run.status === 'succeeded' ? trialScore(trial, run.summaries, spec.metric) : null,
            reusedFeatures: trialReusedFeatures(trial, run.summaries, run.cached),
            epochs: trialEpochs(trial, run.summaries),
            durationMs: Math.round(performance.now() - started),
            runId,
            ...(run.error ? { error: run.error } : {}),
          };
        });
        queue = turn.catch(() => {});
        return turn;
      },
      onTrialFinished: (record) => process.stderr.write(`${trialLine(record, spec.metric)}\n`),
    });
  } finally {
    process.off('SIGINT', onSigint);
  }

  const { best } = result;
  const stopped = { done: 'every proposed trial ran', trials: 'the trial budget is spent', minutes: 'the minutes budget is spent', cancelled: 'cancelled' }[result.stoppedBy];
  process.stderr.write(`sweep: ${result.trials.length} trials, ${result.trials.filter((t) => t.outcome?.reusedFeatures).length} reused cached features; stopped: ${stopped}\n`);
  const report = { stoppedBy: result.stoppedBy, metric: spec.metric, trials: result.trials.map(trialJson), best: best ? trialJson(best) : null, final: null as unknown };
  if (result.stoppedBy === 'cancelled' || !best) {
    if (result.stoppedBy !== 'cancelled') process.stderr.write('sweep: no trial succeeded, so there are no best parameters\n');
    if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return result.stoppedBy === 'cancelled' ? 130 : 1;
  }
  const current = best.baseline ? ' (the current settings: no trial beat them)' : '';
  process.stderr.write(`best: trial ${best.index + 1}${current}, ${paramsText(best.params)}, ${scoreText(best.outcome?.score ?? null, spec.metric)}\n`);

  // The best params once more with evaluation as the pipeline has it (the test split by default): the one test score.
  process.stderr.write('final run of the best parameters:\n');
  const finalId = `${sweepId}-final`;
  const finalRun = finalGraph(graph, best.params);
  const finalCtl = new AbortController();
  const onFinalSigint = () => finalCtl.abort();
  process.once('SIGINT', onFinalSigint);
  const final = await execute({ runId: finalId, graph: finalRun, signal: finalCtl.signal, backend, cache, dirs: dirs(finalId), sink: createProgressReporter() });
  process.off('SIGINT', onFinalSigint);
  const summary = summarizeRun(finalRun, final, backend);
  for (const line of resultLines(summary)) process.stderr.write(`${line}\n`);
  report.final = summary;

  if (opts.out) {
    // The pipeline as the file has it (its own dataset path, its deploy node), with the best params written in.
    await writeFile(path.resolve(opts.out), `${JSON.stringify(applyTrialParams(parsed.graph, best.params), null, 2)}\n`);
    process.stderr.write(`wrote the pipeline with the best parameters to ${opts.out}\n`);
  }
  if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return final.status === 'succeeded' ? 0 : 1;
}

async function readText(file: string, what: string): Promise<string> {
  return readFile(path.resolve(file), 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read ${what} file ${file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
}

/**
 * A trial's own progress stays quiet: a failure is on its trial line (the run's error), error logs are printed
 * tagged with the trial, and warnings (a trial worse than the baseline, skipped images) are left to the final run.
 */
function trialProblem(index: number, event: RunEventBody): void {
  if (event.type === 'node.log' && event.level === 'error') {
    process.stderr.write(`  trial ${index + 1}: ${event.level}: ${event.nodeId ? `${event.nodeId}: ` : ''}${event.message}\n`);
  }
}

function valueText(value: unknown): string {
  return typeof value === 'number' && !Number.isInteger(value) ? String(Number(value.toPrecision(4))) : String(value);
}

function paramsText(params: TrialParams): string {
  return Object.entries(params)
    .map(([k, v]) => `${k}=${valueText(v)}`)
    .join(' ');
}

/** Metrics are fractions in the summaries: shown as percent; the loss as it is. */
function scoreText(score: number | null, metric: SweepMetric): string {
  const label = SWEEP_METRIC_LABELS[metric];
  if (score === null) return `${label} n/a`;
  return higherIsBetter(metric) ? `${label} ${(score * 100).toFixed(1)} %` : `${label} ${score.toFixed(4)}`;
}

/** One finished trial: index (rung, current settings), params, score, whether it reused cached features, seconds. */
export function trialLine(record: TrialRecord, metric: SweepMetric): string {
  const o = record.outcome;
  const notes = [record.rung > 0 ? `rung ${record.rung}` : '', record.baseline ? 'current settings' : ''].filter(Boolean);
  const head = `trial ${record.index + 1}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}: ${paramsText(record.params)}`;
  if (!o) return `${head}: not run`;
  const seconds = `${(o.durationMs / 1000).toFixed(1)} s`;
  if (o.status !== 'succeeded') return `${head}: ${o.status.toUpperCase()}${o.error ? ` (${o.error})` : ''}, ${seconds}`;
  return `${head}: ${scoreText(o.score, metric)}${o.reusedFeatures ? ', cached features' : ''}, ${seconds}`;
}

function trialJson(record: TrialRecord) {
  const o = record.outcome;
  return {
    index: record.index,
    rung: record.rung,
    baseline: record.baseline === true,
    params: record.params,
    status: o?.status ?? null,
    score: o?.score ?? null,
    reusedFeatures: o?.reusedFeatures ?? false,
    epochs: o?.epochs ?? null,
    durationMs: o?.durationMs ?? null,
    ...(o?.error ? { error: o.error } : {}),
  };
}
