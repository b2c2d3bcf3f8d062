'use client';
/** /sweeps: every sweep, newest first — status, strategy, metric, trials done of planned, best score. */
import type { SweepMetric } from '@defectflow/nodes';
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../client/trpc.ts';
import { durationBetween, formatDateTime } from '../runs/format.ts';
import { StatusBadge } from '../runs/panel/StatusBadge.tsx';
import { formatDuration } from '../runs/runState.ts';
import { formatScore, METRIC_SHORT } from './view.ts';

export function SweepList() {
  const trpc = useTRPC();
  const sweeps = useQuery({
    ...trpc.sweeps.list.queryOptions({ limit: 200 }),
    refetchInterval: (q) => ((q.state.data ?? []).some((s) => s.status === 'running') ? 3000 : 15_000),
  });
  if (sweeps.error) return <p role="alert">Could not load sweeps: {sweeps.error.message}</p>;
  if (!sweeps.data) return <p>Loading…</p>;
  if (sweeps.data.length === 0) {
    return (
      <p className="df-empty" data-testid="sweeps-empty">
        No sweeps yet. Open a pipeline in the <Link href="/editor">editor</Link>, press <strong>Sweep…</strong>, tick the parameters
        to vary and start: each trial is a run, ranked on the validation split.
      </p>
    );
  }
  return (
    <table className="df-table df-card" data-testid="sweeps-table" style={{ fontSize: 13 }}>
      <thead>
        <tr>
          {['sweep', 'status', 'strategy', 'optimising', 'trials', 'best', 'started', 'duration'].map((h) => (
            <th key={h}>{h}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {sweeps.data.map((s) => {
          const metric = s.metric as SweepMetric;
          return (
            <tr key={s.id} data-testid="sweep-row" data-sweep-id={s.id} data-status={s.status}>
              <td>
                <Link href={`/sweeps/${encodeURIComponent(s.id)}`}>{s.name}</Link>
              </td>
              <td>
                <StatusBadge status={s.status} />
              </td>
              <td>{s.strategy}</td>
              <td>{METRIC_SHORT[metric] ?? s.metric}</td>
              <td>
                {s.trialsDone} of {s.trialsPlanned}
              </td>
              <td>{formatScore(metric, s.bestScore)}</td>
              <td>{formatDateTime(s.createdAt)}</td>
              <td>{formatDuration(durationBetween(s.createdAt, s.finishedAt))}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
