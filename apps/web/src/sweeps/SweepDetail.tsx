'use client';
/**
 * /sweeps/<id>: the header (status, strategy, metric, trials, elapsed, Cancel), the live trials table with the
 * best row marked, the parallel-coordinates plot and the metric-vs-parameter scatter, "Use these parameters",
 * and the best parameters' test metrics once the final run scored them. Polls sweeps.get while anything moves.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import { formatDateTime, shortId } from '../runs/format.ts';
import { StatusBadge } from '../runs/panel/StatusBadge.tsx';
import { formatDuration } from '../runs/runState.ts';
import { parallelOption, scatterOption, scoredTrials } from './charts.ts';
import { EChart } from './EChart.tsx';
import { SweepTrialsTable } from './SweepTrialsTable.tsx';
import {
  baselineTrialOf,
  bestTrialOf,
  describeParams,
  formatFraction,
  formatScore,
  isTrialFinished,
  METRIC_SHORT,
  metricLabel,
  type ParamColumn,
  paramColumns,
  plannedTrials,
  type SweepView,
  type TrialView,
  whatWentWrong,
} from './view.ts';
import './sweeps.css';

const POLL_MS = 1500;

/** Something is still moving: trials, or the final run of the best parameters. */
function isLive(view: SweepView | undefined): boolean {
  if (!view) return true;
  return view.status === 'running' || view.final?.status === 'queued' || view.final?.status === 'running';
}

export function SweepDetail({ sweepId }: { sweepId: string }) {
  const trpc = useTRPC();
  const query = useQuery({
    ...trpc.sweeps.get.queryOptions({ sweepId }),
    refetchInterval: (q) => (isLive(q.state.data as SweepView | undefined) ? POLL_MS : false),
  });
  const view: SweepView | undefined = query.data;

  if (query.error) return <p role="alert">Could not load sweep {sweepId}: {query.error.message}</p>;
  if (!view) return <p>Loading…</p>;
  return <SweepBody view={view} />;
}

function SweepBody({ view }: { view: SweepView }) {
  const columns = useMemo(() => paramColumns(view.spec), [view.spec]);
  const best = bestTrialOf(view);
  const problem = whatWentWrong(view);
  return (
    <div style={{ display: 'grid', gap: 16 }} data-testid="sweep-page" data-status={view.status}>
      <SweepHeader view={view} />
      {problem ? (
        <div className="df-alert df-alert-error" role="alert" data-testid="sweep-problem">
          {problem}
        </div>
      ) : null}
      <section className="df-card" data-testid="sweep-trials">
        <h2>Trials</h2>
        <SweepTrialsTable view={view} columns={columns} bestIndex={best?.index ?? null} />
      </section>
      <SweepCharts view={view} columns={columns} bestIndex={best?.index ?? null} />
      <BestSection view={view} best={best} columns={columns} />
    </div>
  );
}

function SweepHeader({ view }: { view: SweepView }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { canEdit } = useMe();
  const cancel = useMutation(
    trpc.sweeps.cancel.mutationOptions({
      onSettled: () => void queryClient.invalidateQueries({ queryKey: trpc.sweeps.get.queryKey({ sweepId: view.id }) }),
    }),
  );
  const done = view.trials.filter((t) => isTrialFinished(t.status)).length;
  const running = view.trials.filter((t) => t.status === 'running').length;
  const planned = Math.max(plannedTrials(view), view.trials.length);
  const source = view.pipelineId
    ? { href: `/editor?pipeline=${encodeURIComponent(view.pipelineId)}`, label: 'pipeline' }
    : view.templateId
      ? { href: `/editor?template=${encodeURIComponent(view.templateId)}`, label: 'template' }
      : null;
  return (
    <section className="df-card dfs-head" data-testid="sweep-header">
      <div className="dfs-head-row">
        <h1 data-testid="sweep-name">{view.name}</h1>
        <StatusBadge status={view.status} testId="sweep-status" />
        <span style={{ flex: 1 }} />
        {view.status === 'running' ? (
          <button
            type="button"
            className="df-btn df-btn-danger df-btn-sm"
            data-testid="sweep-cancel"
            disabled={!canEdit || cancel.isPending}
            title={canEdit ? 'Stop the sweep: queued and running trials are cancelled, no new ones start' : NEEDS_ENGINEER}
            onClick={() => cancel.mutate({ sweepId: view.id })}
          >
            {cancel.isPending ? 'Cancelling…' : 'Cancel sweep'}
          </button>
        ) : null}
      </div>
      <div className="dfs-facts">
        <span>
          strategy <strong>{view.spec.strategy}</strong>
        </span>
        <span>
          optimising <strong>{metricLabel(view.metric)}</strong>
        </span>
        <span data-testid="sweep-progress">
          trials <strong>{done}</strong> of {planned} done{running > 0 ? ` · ${running} running` : ''}
        </span>
        <span>
          elapsed <strong>{formatDuration(view.elapsedMs)}</strong>
        </span>
        {view.spec.budget.minutes !== undefined ? <span>time budget {view.spec.budget.minutes} min</span> : null}
        <span>started {formatDateTime(view.createdAt)}</span>
        {source ? (
          <span>
            from the <Link href={source.href}>{source.label}</Link>
          </span>
        ) : (
          <span>from an unsaved pipeline</span>
        )}
        <Link href="/sweeps">all sweeps</Link>
      </div>
      {cancel.error ? (
        <p role="alert" className="df-error df-small" style={{ margin: 0 }}>
          Could not cancel: {cancel.error.message}
        </p>
      ) : null}
    </section>
  );
}

function SweepCharts({ view, columns, bestIndex }: { view: SweepView; columns: ParamColumn[]; bestIndex: number | null }) {
  const [pick, setPick] = useState(0);
  const column = columns[Math.min(pick, columns.length - 1)];
  const input = useMemo(() => ({ trials: view.trials, columns, metric: view.metric, bestIndex }), [view.trials, columns, view.metric, bestIndex]);
  const parallel = useMemo(() => parallelOption(input), [input]);
  const scatter = useMemo(() => (column ? scatterOption(input, column) : null), [input, column]);
  const scored = scoredTrials(view.trials).length;
  if (scored === 0) {
    return (
      <section className="df-card" data-testid="sweep-charts-empty">
        <h2>Charts</h2>
        <p className="df-muted" style={{ margin: 0 }}>
          {view.status === 'running'
            ? 'The parallel-coordinates plot and the scatter appear once the first trial is scored.'
            : 'No trial was scored, so there is nothing to plot.'}
        </p>
      </section>
    );
  }
  const unplotted = view.trials.filter((t) => isTrialFinished(t.status) && t.score === null).length;
  return (
    <div className="dfs-charts">
      <section className="df-card">
        <div className="dfs-chart-head">
          <h2>All trials</h2>
          <span className="df-muted df-small">one line per trial; darker = better {METRIC_SHORT[view.metric]}, orange = best</span>
        </div>
        <EChart option={parallel} height={300} testId="sweep-parallel" points={scored} label="Parallel coordinates: each trial's parameters and score" />
        {unplotted > 0 ? (
          <p className="df-muted df-small" style={{ margin: 0 }}>
            {unplotted} {unplotted === 1 ? 'trial' : 'trials'} without a score (failed or cancelled) not drawn.
          </p>
        ) : null}
      </section>
      <section className="df-card">
        <div className="dfs-chart-head">
          <h2>{METRIC_SHORT[view.metric]} by</h2>
          <select className="df-select" data-testid="sweep-scatter-param" aria-label="Parameter on the x axis" value={pick} onChange={(e) => setPick(Number(e.target.value))}>
            {columns.map((c, i) => (
              <option key={c.key} value={i}>
                {c.key}
              </option>
            ))}
          </select>
        </div>
        {scatter ? <EChart option={scatter} height={300} testId="sweep-scatter" points={scored} label={`${METRIC_SHORT[view.metric]} against ${column?.param}`} /> : null}
      </section>
    </div>
  );
}

function BestSection({ view, best, columns }: { view: SweepView; best: TrialView | null; columns: ParamColumn[] }) {
  if (!best) return null;
  const running = view.status === 'running';
  return (
    <section className="df-card" data-testid="sweep-best" style={{ display: 'grid', gap: 10 }}>
      <h2 style={{ margin: 0 }}>
        {running ? 'Best so far' : 'Best parameters'}: trial {best.index + 1}, {formatScore(view.metric, best.score)} {METRIC_SHORT[view.metric]}
      </h2>
      <code data-testid="sweep-best-params" style={{ overflowWrap: 'anywhere' }}>
        {describeParams(best.params, columns)}
      </code>
      <VersusBaseline view={view} best={best} />
      <ApplyBest view={view} best={best} />
      <FinalMetrics view={view} />
    </section>
  );
}

/** Did the sweep beat the pipeline's current settings? Said in words beside the best (nothing when there was no baseline). */
function VersusBaseline({ view, best }: { view: SweepView; best: TrialView }) {
  const longest = baselineTrialOf(view.trials);
  if (!longest) return null;
  const baseline = best.baseline ? best : longest;
  const where = `trial ${baseline.index + 1}${view.spec.strategy === 'halving' ? `, rung ${baseline.rung}` : ''}`;
  const text = best.baseline
    ? `No trial beat the current settings (${where}) on validation: they are the best${view.status === 'running' ? ' so far' : ''}.`
    : `The current settings (${where}) scored ${formatScore(view.metric, baseline.score)} ${METRIC_SHORT[view.metric]}.`;
  return (
    <p className="df-muted" data-testid="sweep-vs-baseline" style={{ margin: 0 }}>
      {text}
    </p>
  );
}

function ApplyBest({ view, best }: { view: SweepView; best: TrialView }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { canEdit } = useMe();
  const apply = useMutation(
    trpc.sweeps.applyBest.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.pipelines.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.templates.pathKey() });
      },
    }),
  );
  const [copied, setCopied] = useState(false);
  const hasSource = view.pipelineId !== null || view.templateId !== null;
  const result = apply.data;
  const copy = async () => {
    await navigator.clipboard?.writeText(JSON.stringify(best.params, null, 2)).catch(() => undefined);
    setCopied(true);
  };
  return (
    <div style={{ display: 'grid', gap: 6 }}>
      <div className="dfs-apply">
        {hasSource ? (
          <button
            type="button"
            className="df-btn df-btn-primary"
            data-testid="sweep-apply"
            disabled={!canEdit || apply.isPending}
            title={
              !canEdit
                ? NEEDS_ENGINEER
                : view.pipelineId
                  ? 'Write these values into the pipeline the sweep came from'
                  : 'Save these values as a new version of the template the sweep came from'
            }
            onClick={() => apply.mutate({ sweepId: view.id, trialIndex: best.index })}
          >
            {apply.isPending ? 'Writing…' : 'Use these parameters'}
          </button>
        ) : (
          <span className="df-muted df-small">The sweep ran an unsaved pipeline: copy the values into it by hand.</span>
        )}
        <button type="button" className="df-btn" data-testid="sweep-copy" onClick={() => void copy()}>
          {copied ? 'Copied' : 'Copy as JSON'}
        </button>
      </div>
      {result ? (
        <div className="df-alert df-alert-info" role="status" data-testid="sweep-applied" style={{ margin: 0 }}>
          {result.pipelineId
            ? 'Wrote the values into the pipeline.'
            : `Saved as version ${result.templateVersion ?? ''} of the template.`}{' '}
          <Link href={result.editorUrl} data-testid="sweep-applied-link">
            Open it in the editor
          </Link>
        </div>
      ) : null}
      {apply.error ? (
        <p role="alert" className="df-error" data-testid="sweep-apply-error" style={{ margin: 0 }}>
          {apply.error.message}
        </p>
      ) : null}
    </div>
  );
}

/** The best parameters scored once on the test split, by the sweep's final run. */
function FinalMetrics({ view }: { view: SweepView }) {
  const final = view.final;
  if (!final) {
    return view.status === 'running' ? (
      <p className="df-muted df-small" style={{ margin: 0 }}>
        When the last trial ends, the best parameters are scored once on the test split.
      </p>
    ) : null;
  }
  const runLink = (
    <Link href={`/runs/${encodeURIComponent(final.runId)}`} data-testid="sweep-final-run">
      run {shortId(final.runId)}
    </Link>
  );
  if (!final.metrics) {
    const going = final.status === 'queued' || final.status === 'running';
    return (
      <p className={going ? 'df-muted' : 'df-error'} data-testid="sweep-final-pending" style={{ margin: 0 }}>
        {going ? 'Scoring the best parameters once on the test split… ' : `The final run on the test split ended ${final.status} without metrics: `}
        {runLink}
      </p>
    );
  }
  const m = final.metrics;
  const stats: [string, number | null | undefined][] = [
    ['accuracy', m.accuracy],
    ['macro F1', m.macroF1],
    ['AUROC', m.auroc],
  ];
  return (
    <div data-testid="sweep-final" style={{ display: 'grid', gap: 6 }}>
      <h3 style={{ margin: 0 }}>
        Test metrics <span className="df-muted" style={{ fontWeight: 400 }}>— scored once on the {m.split ?? 'test'} split, with the best parameters ({runLink})</span>
      </h3>
      <div className="dfs-final">
        {stats
          .filter(([, v]) => v !== null && v !== undefined)
          .map(([label, v]) => (
            <div className="dfs-stat" key={label}>
              <div className="dfs-stat-label">{label}</div>
              <div className="dfs-stat-value" data-testid={`sweep-final-${label.replace(/\s/g, '')}`}>
                {formatFraction(v)}
              </div>
            </div>
          ))}
      </div>
    </div>
  );
}
