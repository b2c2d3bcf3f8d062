'use client';
/**
 * /runs: every run with its name and the pipeline or template it ran, filterable by product line and by
 * pipeline or template (kept in the URL: ?productLine=, ?pipeline=, ?template=); pick two or more to compare.
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
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
  const params = useSearchParams();
  const productLineId = params.get('productLine') ?? '';
  const pipelineId = params.get('pipeline') ?? '';
  const templateId = params.get('template') ?? '';
  const setFilter = (next: { productLine?: string; pipeline?: string; template?: string }) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) q.set(k, v);
    router.replace(`/runs${q.size ? `?${q}` : ''}`);
  };
  const [selected, setSelected] = useState<string[]>([]);
  const productLines = useQuery(trpc.productLines.list.queryOptions());
  // Every pipeline and template (names for the rows); the filter lists those of the chosen product line.
  const pipelines = useQuery(trpc.pipelines.list.queryOptions());
  const templates = useQuery(trpc.templates.list.queryOptions());
  const runs = useQuery({
    ...trpc.runs.list.queryOptions({
      productLineId: productLineId || undefined,
      pipelineId: pipelineId || undefined,
      templateId: templateId || undefined,
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
  const templateNames = useMemo(
    () => new Map((templates.data ?? []).map((t) => [t.id, t.name] as const)),
    [templates.data],
  );
  const inLine = <T extends { productLineId: string }>(rows: T[] | undefined) =>
    (rows ?? []).filter((r) => !productLineId || r.productLineId === productLineId);
  const sourceValue = pipelineId ? `p:${pipelineId}` : templateId ? `t:${templateId}` : '';
  const filtered = Boolean(productLineId || pipelineId || templateId);
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
            onChange={(e) => setFilter({ productLine: e.target.value })}
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
          Pipeline or template{' '}
          <select
            className="df-select"
            data-testid="filter-pipeline"
            value={sourceValue}
            onChange={(e) => {
              const [kind, id] = [e.target.value.slice(0, 2), e.target.value.slice(2)];
              setFilter({ productLine: productLineId, pipeline: kind === 'p:' ? id : '', template: kind === 't:' ? id : '' });
            }}
          >
            <option value="">all</option>
            <optgroup label="Pipelines">
              {inLine(pipelines.data).map((p) => (
                <option key={p.id} value={`p:${p.id}`}>
                  {p.name}
                </option>
              ))}
            </optgroup>
            <optgroup label="Templates (and pipelines made from them)">
              {inLine(templates.data).map((t) => (
                <option key={t.id} value={`t:${t.id}`}>
                  {t.name}
                </option>
              ))}
            </optgroup>
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
            {['', 'run', 'pipeline / template', 'product line', 'status', 'started', 'duration', 'accuracy', 'macro F1', 'backend'].map((h) => (
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
                <td style={{ padding: '4px 8px' }} data-testid="run-name-cell">
                  <Link href={`/runs/${r.id}`}>
                    {r.name ? <strong>{r.name}</strong> : null}{' '}
                    <code style={{ color: r.name ? '#5b6470' : undefined, fontSize: r.name ? 11 : undefined }}>{shortId(r.id)}</code>
                  </Link>
                </td>
                <td style={{ padding: '4px 8px' }} data-testid="run-source-cell">
                  {r.pipelineId ? (
                    <Link href={`/editor?pipeline=${encodeURIComponent(r.pipelineId)}`}>{pipelineNames.get(r.pipelineId) ?? shortId(r.pipelineId)}</Link>
                  ) : r.templateId ? (
                    <>
                      <span style={{ color: '#5b6470' }}>template </span>
                      <Link href={`/editor?template=${encodeURIComponent(r.templateId)}`}>{templateNames.get(r.templateId) ?? shortId(r.templateId)}</Link>
                    </>
                  ) : (
                    <span style={{ color: '#5b6470' }} title="Run before the pipeline was saved">unsaved pipeline</span>
                  )}
                </td>
                <td style={{ padding: '4px 8px' }}>
                  {r.productLineId ? (
                    <Link href={`/product-lines/${encodeURIComponent(r.productLineId)}`}>{lineNames.get(r.productLineId) ?? shortId(r.productLineId)}</Link>
                  ) : (
                    '–'
                  )}
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
              <td colSpan={10} style={{ padding: 12, color: '#5b6470' }} data-testid="runs-empty">
                {filtered ? (
                  <>
                    No runs match this filter. A run counts for a pipeline when it was started from the saved pipeline (runs
                    of a new pipeline before its first save belong to no pipeline).{' '}
                    <button type="button" className="df-linkish" style={{ color: '#0969da' }} onClick={() => setFilter({})}>
                      Show all runs
                    </button>
                  </>
                ) : (
                  <>
                    No runs yet. Open a pipeline in the <Link href="/editor">editor</Link> and press Run.
                  </>
                )}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
    </section>
  );
}
