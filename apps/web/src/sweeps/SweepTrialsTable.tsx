'use client';
/**
 * The sweep's trials as they arrive: one column per varied param, the metric, time, status, cached features, run.
 * The baseline (the pipeline's current settings) carries a "current settings" badge, so a glance says whether the
 * sweep beat it.
 */
import Link from 'next/link';
import { shortId } from '../runs/format.ts';
import { StatusBadge } from '../runs/panel/StatusBadge.tsx';
import { formatDuration } from '../runs/runState.ts';
import { formatParam, formatScore, METRIC_SHORT, type ParamColumn, type SweepView, type TrialView } from './view.ts';

/** Halving trials carry the rung's epochs among their params (not a varied column): say them with the rung. */
function rungNote(trial: TrialView, columns: ParamColumn[]): string {
  const shown = new Set(columns.map((c) => c.key));
  const extra = Object.entries(trial.params).filter(([k]) => !shown.has(k));
  return extra.map(([k, v]) => `${k.slice(k.indexOf('.') + 1)} ${formatParam(v)}`).join(', ');
}

export function SweepTrialsTable({ view, columns, bestIndex }: { view: SweepView; columns: ParamColumn[]; bestIndex: number | null }) {
  const halving = view.spec.strategy === 'halving';
  if (view.trials.length === 0) {
    return (
      <p className="df-muted" data-testid="sweep-trials-empty" style={{ margin: 0 }}>
        {view.status === 'running' ? 'Waiting for the first trial to start…' : 'No trial ran.'}
      </p>
    );
  }
  return (
    <div className="dfs-table-wrap">
      <table className="df-table dfs-table" data-testid="sweep-trials-table">
        <thead>
          <tr>
            <th>#</th>
            {halving ? <th title="Successive-halving rung: later rungs train the best configurations longer">rung</th> : null}
            {columns.map((c) => (
              <th key={c.key} title={c.key}>
                {c.param}
                {c.dimension.kind === 'log' ? <span className="df-muted"> (log)</span> : null}
              </th>
            ))}
            <th className="df-num">{METRIC_SHORT[view.metric]}</th>
            <th className="df-num">time</th>
            <th>status</th>
            <th>run</th>
          </tr>
        </thead>
        <tbody>
          {view.trials.map((t) => {
            const isBest = t.index === bestIndex;
            return (
              <tr
                key={t.index}
                className={isBest ? 'is-best' : undefined}
                data-testid="sweep-trial"
                data-index={t.index}
                data-status={t.status}
                data-best={isBest ? 'true' : undefined}
                data-baseline={t.baseline ? 'true' : undefined}
                data-reused={t.reusedFeatures ? 'true' : undefined}
              >
                <td>
                  {t.index + 1}
                  {t.baseline ? (
                    <span className="dfs-baseline-mark" data-testid="sweep-baseline-mark" title="The pipeline as it is: the varied parameters at their current values">
                      current settings
                    </span>
                  ) : null}
                  {isBest ? (
                    <span className="dfs-best-mark" data-testid="sweep-best-mark" title={`The best ${METRIC_SHORT[view.metric]} so far`}>
                      ★ best
                    </span>
                  ) : null}
                </td>
                {halving ? (
                  <td>
                    {t.rung}
                    {rungNote(t, columns) ? <span className="df-muted df-small"> · {rungNote(t, columns)}</span> : null}
                  </td>
                ) : null}
                {columns.map((c) => (
                  <td key={c.key}>{formatParam(t.params[c.key])}</td>
                ))}
                <td className="df-num" data-testid="sweep-trial-score">
                  {formatScore(view.metric, t.score)}
                </td>
                <td className="df-num">{formatDuration(t.durationMs)}</td>
                <td>
                  <StatusBadge status={t.status} />
                  {t.reusedFeatures ? (
                    <span className="dfs-cached" data-testid="sweep-cached" title="Read every feature from the cache: nothing upstream of the freeze boundary was computed again">
                      cached features
                    </span>
                  ) : null}
                  {t.error ? (
                    <div className="dfs-error-cell" title={t.error}>
                      {t.error.length > 160 ? `${t.error.slice(0, 160)}…` : t.error}
                    </div>
                  ) : null}
                </td>
                <td>{t.runId ? <Link href={`/runs/${encodeURIComponent(t.runId)}`}>{shortId(t.runId)}</Link> : <span className="df-muted">–</span>}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
