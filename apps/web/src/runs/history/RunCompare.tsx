'use client';
/** /runs/compare?ids=a,b: overlaid curves, a metric table and the graph parameters that differed. */
import { diffGraphs, formatDiffValue } from '@defectflow/nodes';
import { useQueries } from '@tanstack/react-query';
import Link from 'next/link';
import { type ReactNode, useMemo } from 'react';
import { useTRPC } from '../../client/trpc.ts';
import { LineChart, PALETTE, type Series } from '../chart/LineChart.tsx';
import { durationBetween, shortId } from '../format.ts';
import { type ReportMetrics, parseMetrics } from '../metrics.ts';
import { StatusBadge } from '../panel/StatusBadge.tsx';
import { ConfusionMatrix } from '../report/ConfusionMatrix.tsx';
import { pct } from '../report/EvaluationReport.tsx';
import type { RunRow } from '../RunPanel.tsx';
import { applyEvents, formatDuration, initialRunState, type RunViewState } from '../runState.ts';

interface Loaded {
  id: string;
  row: RunRow;
  state: RunViewState;
  metrics: ReportMetrics | null;
  color: string;
}

export function RunCompare({ ids }: { ids: string[] }) {
  const trpc = useTRPC();
  const rows = useQueries({ queries: ids.map((runId) => trpc.runs.get.queryOptions({ runId })) });
  const events = useQueries({ queries: ids.map((runId) => trpc.runs.events.queryOptions({ runId, since: 0 })) });

  const loaded: Loaded[] = useMemo(() => {
    const out: Loaded[] = [];
    ids.forEach((id, i) => {
      const row = rows[i]?.data;
      const evs = events[i]?.data;
      if (!row || !evs) return;
      const state = applyEvents(initialRunState(id), evs);
      const summaries = Object.values(state.nodes)
        .filter((n) => n.nodeType === 'evaluate')
        .map((n) => n.summary);
      const metrics = parseMetrics(row.metrics) ?? summaries.map(parseMetrics).find((m) => m) ?? null;
      out.push({ id, row, state, metrics, color: PALETTE[i % PALETTE.length] as string });
    });
    return out;
  }, [ids, rows, events]);

  const errors = [...rows, ...events].map((q) => q.error).filter((e) => e);
  if (ids.length < 2) return <p>Pick at least two runs on the <Link href="/runs">runs page</Link> to compare.</p>;
  if (errors.length > 0) return <p role="alert">Could not load: {errors.map((e) => e?.message).join('; ')}</p>;
  if (loaded.length < ids.length) return <p>Loading {ids.length} runs…</p>;

  const lossSeries: Series[] = [];
  const accSeries: Series[] = [];
  for (const r of loaded) {
    const pts = (pick: (p: RunViewState['epochs'][number]) => number | null) =>
      r.state.epochs.map((p) => ({ x: p.epoch, y: pick(p) }));
    const tag = shortId(r.id);
    lossSeries.push({ name: `${tag} train`, color: r.color, markers: true, points: pts((p) => p.loss) });
    accSeries.push({ name: `${tag} train`, color: r.color, markers: true, points: pts((p) => p.acc) });
    if (r.state.epochs.some((p) => p.valLoss !== null)) {
      lossSeries.push({ name: `${tag} val`, color: r.color, dashed: true, points: pts((p) => p.valLoss) });
      accSeries.push({ name: `${tag} val`, color: r.color, dashed: true, points: pts((p) => p.valAcc) });
    }
  }

  const classes = [...new Set(loaded.flatMap((r) => r.metrics?.classes ?? []))];
  const metricRows: { label: string; values: ReactNode[] }[] = [
    { label: 'status', values: loaded.map((r) => <StatusBadge key={r.id} status={r.row.status} />) },
    { label: 'backend', values: loaded.map((r) => r.row.backend ?? r.state.backend ?? '–') },
    {
      label: 'duration',
      values: loaded.map((r) => formatDuration(r.state.durationMs ?? durationBetween(r.row.startedAt, r.row.finishedAt))),
    },
    { label: 'epochs', values: loaded.map((r) => String(r.state.epochs.length)) },
    { label: 'accuracy', values: loaded.map((r) => pct(r.metrics?.accuracy)) },
    {
      label: 'baseline accuracy (largest class)',
      values: loaded.map((r) => (r.metrics?.baseline ? `${pct(r.metrics.baseline.accuracy)} '${r.metrics.baseline.className}'` : '–')),
    },
    { label: 'beats baseline clearly', values: loaded.map((r) => (r.metrics?.verdict ? (r.metrics.verdict.clearlyBetter ? 'yes' : 'NO') : '–')) },
    { label: 'macro F1', values: loaded.map((r) => pct(r.metrics?.macroF1)) },
    { label: 'AUROC', values: loaded.map((r) => (r.metrics?.roc ? r.metrics.roc.auroc.toFixed(3) : '–')) },
    ...classes.map((c) => ({ label: `F1 ${c}`, values: loaded.map((r) => pct(r.metrics?.perClass[c]?.f1)) })),
  ];

  const diff = diffGraphs(loaded.map((r) => r.row.graph ?? { nodes: [], edges: [] }));
  const cell = { padding: '4px 10px', borderBottom: '1px solid #eef0f3' } as const;
  const header = (
    <tr style={{ borderBottom: '2px solid #d0d4da' }}>
      <th style={{ ...cell, textAlign: 'left' }} />
      {loaded.map((r) => (
        <th key={r.id} style={{ ...cell, textAlign: 'left', color: r.color }}>
          <Link href={`/runs/${r.id}`} style={{ color: r.color }}>
            {r.row.name ? <span style={{ fontFamily: 'inherit' }}>{r.row.name} </span> : null}
            <span style={{ fontFamily: 'monospace' }}>{shortId(r.id)}</span>
          </Link>
        </th>
      ))}
    </tr>
  );

  return (
    <section data-testid="run-compare" style={{ display: 'grid', gap: 20 }}>
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(300px, 1fr))', gap: 16 }}>
        <LineChart title="Loss per epoch" xLabel="epoch" series={lossSeries} testId="compare-loss" />
        <LineChart title="Accuracy per epoch" xLabel="epoch" series={accSeries} yDomain={[0, 1]} testId="compare-acc" />
      </div>
      <div>
        <h3 style={{ fontSize: 15 }}>Metrics</h3>
        <table data-testid="compare-metrics" style={{ borderCollapse: 'collapse', fontSize: 13 }}>
          <thead>{header}</thead>
          <tbody>
            {metricRows.map((m) => (
              <tr key={m.label}>
                <th style={{ ...cell, textAlign: 'left', fontWeight: 500 }}>{m.label}</th>
                {m.values.map((v, i) => (
                  <td key={loaded[i]?.id} style={cell}>
                    {v}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div>
        <h3 style={{ fontSize: 15 }}>Confusion matrices</h3>
        {/* Side by side, same class order: where the runs differ shows at a glance; a cell opens its images. */}
        <div data-testid="compare-confusion" style={{ display: 'flex', gap: 20, flexWrap: 'wrap', alignItems: 'flex-start' }}>
          {loaded.map((r) => (
            <div key={r.id} data-testid="compare-matrix" data-run-id={r.id} style={{ display: 'grid', gap: 6 }}>
              <Link href={`/runs/${r.id}`} style={{ color: r.color, fontWeight: 600, fontSize: 13 }}>
                {r.row.name ? `${r.row.name} · ` : ''}
                <span style={{ fontFamily: 'monospace' }}>{shortId(r.id)}</span>
                {r.metrics ? ` · ${pct(r.metrics.accuracy)}` : ''}
              </Link>
              {r.metrics ? (
                <ConfusionMatrix metrics={r.metrics} runId={r.id} />
              ) : (
                <p style={{ fontSize: 12, color: '#5b6470', margin: 0 }}>No evaluation in this run.</p>
              )}
            </div>
          ))}
        </div>
      </div>
      <div>
        <h3 style={{ fontSize: 15 }}>Parameters that differed</h3>
        {diff.params.length === 0 && diff.edges.length === 0 ? (
          <p data-testid="compare-no-diff" style={{ fontSize: 13, color: '#5b6470' }}>
            The runs used identical graphs.
          </p>
        ) : (
          <table data-testid="compare-diff" style={{ borderCollapse: 'collapse', fontSize: 13 }}>
            <thead>
              <tr style={{ borderBottom: '2px solid #d0d4da' }}>
                <th style={{ ...cell, textAlign: 'left' }}>node.param</th>
                {loaded.map((r) => (
                  <th key={r.id} style={{ ...cell, textAlign: 'left', color: r.color, fontFamily: 'monospace' }}>
                    {shortId(r.id)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {diff.params.map((p) => (
                <tr key={`${p.nodeId}.${p.field}`} data-testid="diff-row">
                  <td style={cell}>
                    <strong>{p.nodeId}</strong>
                    <span style={{ color: '#5b6470' }}> ({p.nodeType})</span>.{p.field}
                  </td>
                  {p.values.map((v, i) => (
                    <td key={loaded[i]?.id} style={{ ...cell, fontFamily: 'monospace' }}>
                      {formatDiffValue(v)}
                    </td>
                  ))}
                </tr>
              ))}
              {diff.edges.map((e) => (
                <tr key={e.edge}>
                  <td style={cell}>edge {e.edge}</td>
                  {e.present.map((p, i) => (
                    <td key={loaded[i]?.id} style={cell}>
                      {p ? 'yes' : '—'}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </section>
  );
}
