'use client';
/** /runs: every run, filterable by product line and pipeline; pick two or more to compare. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useMemo, useState } from 'react';
import { useTRPC } from '../../client/trpc.ts';
import { durationBetween, formatDateTime, shortId } from '../format.ts';
import { parseMetrics } from '../metrics.ts';
import { StatusBadge } from '../panel/StatusBadge.tsx';
import { pct } from '../report/EvaluationReport.tsx';
import { formatDuration } from '../runState.ts';

export function RunHistory() {
  const trpc = useTRPC();
  const router = useRouter();
  const [productLineId, setProductLineId] = useState('');
  const [pipelineId, setPipelineId] = useState('');
  const [selected, setSelected] = useState<string[]>([]);
  const productLines = useQuery(trpc.productLines.list.queryOptions());
  const pipelines = useQuery(trpc.pipelines.list.queryOptions(productLineId ? { productLineId } : undefined));
  const runs = useQuery({
    ...trpc.runs.list.queryOptions({
      productLineId: productLineId || undefined,
      pipelineId: pipelineId || undefined,
      limit: 200,
    }),
    // Statuses and durations move while runs are going: poll gently, and only then.
    refetchInterval: (query) =>
      (query.state.data ?? []).some((r) => r.status === 'queued' || r.status === 'running') ? 3000 : 15_000,
  });

  const pipelineNames = useMemo(
    () => new Map((pipelines.data ?? []).map((p) => [p.id, p.name] as const)),
    [pipelines.data],
  );
  const lineNames = useMemo(
    () => new Map((productLines.data ?? []).map((p) => [p.id, p.name] as const)),
    [productLines.data],
  );

  const toggle = (id: string) =>
    setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));

  return (
    <section style={{ display: 'grid', gap: 12 }}>
      <div style={{ display: 'flex', gap: 12, flexWrap: 'wrap', alignItems: 'center' }}>
        <label>
          Product line{' '}
          <select
            className="df-select"
            data-testid="filter-product-line"
            value={productLineId}
            onChange={(e) => {
              setProductLineId(e.target.value);
              setPipelineId('');
            }}
          >
            <option value="">all</option>
            {(productLines.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Pipeline{' '}
          <select className="df-select" data-testid="filter-pipeline" value={pipelineId} onChange={(e) => setPipelineId(e.target.value)}>
            <option value="">all</option>
            {(pipelines.data ?? []).map((p) => (
              <option key={p.id} value={p.id}>
                {p.name}
              </option>
            ))}
          </select>
        </label>
        <span style={{ flex: 1 }} />
        <button
          type="button"
          className="df-btn df-btn-primary"
          data-testid="compare-button"
          disabled={selected.length < 2}
          onClick={() => router.push(`/runs/compare?ids=${selected.map(encodeURIComponent).join(',')}`)}
        >
          Compare {selected.length >= 2 ? `(${selected.length})` : ''}
        </button>
      </div>
      {runs.error ? <p role="alert">Could not load runs: {runs.error.message}</p> : null}
      <table className="df-table df-card" data-testid="runs-table" style={{ fontSize: 13 }}>
        <thead>
          <tr style={{ borderBottom: '2px solid #d0d4da', textAlign: 'left' }}>
            {['', 'run', 'product line / pipeline', 'status', 'started', 'duration', 'accuracy', 'macro F1', 'backend'].map((h) => (
              <th key={h} style={{ padding: '4px 8px' }}>
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {(runs.data ?? []).map((r) => {
            const m = parseMetrics(r.metrics);
            const running = r.status === 'running' || r.status === 'queued';
            return (
              <tr key={r.id} data-testid="run-row" data-run-id={r.id} data-status={r.status} style={{ borderBottom: '1px solid #eef0f3' }}>
                <td style={{ padding: '4px 8px' }}>
                  <input
                    type="checkbox"
                    aria-label={`select run ${r.id}`}
                    data-testid={`select-${r.id}`}
                    checked={selected.includes(r.id)}
                    onChange={() => toggle(r.id)}
                  />
                </td>
                <td style={{ padding: '4px 8px', fontFamily: 'monospace' }}>
                  <Link href={`/runs/${r.id}`}>{shortId(r.id)}</Link>
                </td>
                <td style={{ padding: '4px 8px' }}>
                  {(r.productLineId && lineNames.get(r.productLineId)) || '–'}
                  {r.pipelineId ? <span style={{ color: '#5b6470' }}> / {pipelineNames.get(r.pipelineId) ?? shortId(r.pipelineId)}</span> : null}
                </td>
                <td style={{ padding: '4px 8px' }}>
                  <StatusBadge status={r.status} />
                </td>
                <td style={{ padding: '4px 8px' }}>{formatDateTime(r.startedAt ?? r.createdAt)}</td>
                <td style={{ padding: '4px 8px' }}>
                  {formatDuration(durationBetween(r.startedAt, r.finishedAt ?? (running ? null : r.startedAt)))}
                </td>
                <td style={{ padding: '4px 8px' }} title={m?.verdict?.warning ?? undefined}>
                  {pct(m?.accuracy)}
                  {m?.baseline ? (
                    <span style={{ color: m.verdict?.clearlyBetter ? '#5b6470' : '#b45309', fontSize: 11 }} data-testid="history-baseline">
                      {' '}
                      {m.verdict?.clearlyBetter ? '' : '⚠ '}vs {pct(m.baseline.accuracy)}
                    </span>
                  ) : null}
                </td>
                <td style={{ padding: '4px 8px' }}>{pct(m?.macroF1)}</td>
                <td style={{ padding: '4px 8px', color: '#5b6470' }}>{r.backend ?? '–'}</td>
              </tr>
            );
          })}
          {runs.data && runs.data.length === 0 ? (
            <tr>
              <td colSpan={9} style={{ padding: 12, color: '#5b6470' }}>
                No runs yet. Open a pipeline in the <Link href="/editor">editor</Link> and press Run.
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}
