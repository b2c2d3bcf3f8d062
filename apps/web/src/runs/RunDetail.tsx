'use client';
/** /runs/<id>: the live panel, then the evaluation report and the exact graph that ran. */
import { useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { useTRPC } from '../client/trpc.ts';
import { metricsFromRun } from './metrics.ts';
import { EvaluationReport } from './report/EvaluationReport.tsx';
import { RunHeader } from './RunHeader.tsx';
import { RunPanel } from './RunPanel.tsx';
import { isFinished } from './runState.ts';
import { useRunEvents } from './useRunEvents.ts';

export function RunDetail({ runId }: { runId: string }) {
  const trpc = useTRPC();
  const run = useQuery(trpc.runs.get.queryOptions({ runId }));
  const row = run.data;
  const state = useRunEvents(runId);
  const metrics = useMemo(
    () =>
      metricsFromRun(
        row?.metrics,
        Object.values(state.nodes)
          .filter((n) => n.nodeType === 'evaluate')
          .map((n) => n.summary),
      ),
    [row?.metrics, state.nodes],
  );

  if (run.error) return <p role="alert">Could not load run {runId}: {run.error.message}</p>;
  return (
    <div style={{ display: 'grid', gap: 16 }}>
      {row ? <RunHeader run={row} /> : null}
      <RunPanel runId={runId} />
      <section className="df-card">
        <h2 style={{ fontSize: 18, marginTop: 0 }}>Evaluation</h2>
        {metrics ? (
          <EvaluationReport metrics={metrics} runId={runId} />
        ) : (
          <p data-testid="no-report" style={{ color: '#5b6470', fontSize: 13 }}>
            {isFinished(state.status) || (row && row.status !== 'running' && row.status !== 'queued')
              ? 'This run produced no evaluation (no evaluate node, or it did not finish).'
              : 'The report appears when the evaluate node finishes.'}
          </p>
        )}
      </section>
      {row?.graph ? (
        <details className="df-card" data-testid="run-graph">
          <summary style={{ cursor: 'pointer', fontWeight: 600 }}>Graph that ran (JSON)</summary>
          <pre style={{ fontSize: 12, background: '#f7f8fa', padding: 10, overflow: 'auto', maxHeight: 400 }}>
            {JSON.stringify(row.graph, null, 2)}
          </pre>
        </details>
      ) : null}
    </div>
  );
}
