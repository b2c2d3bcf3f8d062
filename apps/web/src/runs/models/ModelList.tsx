'use client';
/** /models: deployed models grouped by product line (or one line: ?productLine=), with version, stage, metrics and source run. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useTRPC } from '../../client/trpc.ts';
import { formatDateTime, shortId } from '../format.ts';
import { parseMetrics } from '../metrics.ts';
import { pct } from '../report/EvaluationReport.tsx';
import { StageBadge } from './StageBadge.tsx';

export function ModelList() {
  const trpc = useTRPC();
  const productLineId = useSearchParams().get('productLine') ?? undefined;
  const models = useQuery(trpc.models.list.queryOptions(productLineId ? { productLineId } : undefined));
  const lines = useQuery(trpc.productLines.list.queryOptions());
  if (models.error) return <p role="alert">Could not load models: {models.error.message}</p>;
  if (!models.data) return <p>Loading…</p>;
  if (models.data.length === 0)
    return <p>No deployed models yet. A run whose graph ends in a deploy node registers one here.</p>;

  const names = new Map((lines.data ?? []).map((l) => [l.id, l.name] as const));
  const groups = new Map<string, typeof models.data>();
  for (const m of models.data) {
    const key = m.productLineId ?? '';
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  return (
    <div style={{ display: 'grid', gap: 20 }} data-testid="model-list">
      {[...groups.entries()].map(([lineId, list]) => (
        <section key={lineId || 'none'}>
          <h2 style={{ fontSize: 16 }}>
            {lineId ? <Link href={`/product-lines/${encodeURIComponent(lineId)}`}>{names.get(lineId) ?? shortId(lineId)}</Link> : 'No product line'}
          </h2>
          <table style={{ borderCollapse: 'collapse', fontSize: 13, width: '100%' }}>
            <thead>
              <tr style={{ borderBottom: '2px solid #d0d4da', textAlign: 'left' }}>
                {['model', 'stage', 'classes', 'input', 'accuracy', 'macro F1', 'created', 'run', ''].map((h) => (
                  <th key={h} style={{ padding: '4px 8px' }}>
                    {h}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {list.map((m) => {
                const metrics = parseMetrics(m.metrics);
                return (
                  <tr key={m.id} data-testid="model-row" data-model-id={m.id} style={{ borderBottom: '1px solid #eef0f3' }}>
                    <td style={{ padding: '4px 8px' }}>
                      <Link href={`/models/${m.id}`}>{m.name}</Link>
                    </td>
                    <td style={{ padding: '4px 8px' }}>
                      <StageBadge stage={m.stage} version={m.version} />
                    </td>
                    <td style={{ padding: '4px 8px' }}>{m.labels.join(', ')}</td>
                    <td style={{ padding: '4px 8px' }}>
                      {m.inputSize}×{m.inputSize}
                    </td>
                    <td style={{ padding: '4px 8px' }} title={metrics?.verdict?.warning ?? undefined}>
                      {pct(metrics?.accuracy)}
                      {metrics?.verdict && !metrics.verdict.clearlyBetter ? <span style={{ color: '#b45309' }}> ⚠ no better than always '{metrics.baseline?.className}'</span> : null}
                    </td>
                    <td style={{ padding: '4px 8px' }}>{pct(metrics?.macroF1)}</td>
                    <td style={{ padding: '4px 8px' }}>{formatDateTime(m.createdAt)}</td>
                    <td style={{ padding: '4px 8px', fontFamily: 'monospace' }}>
                      {m.runId ? <Link href={`/runs/${m.runId}`}>{shortId(m.runId)}</Link> : '–'}
                    </td>
                    <td style={{ padding: '4px 8px' }}>
                      <a href={`/api/models/${m.id}/archive`} download>
                        Download
                      </a>
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}
