'use client';
/**
 * /models/<id>/monitoring: what the deployed model saw — prediction volume, class mix against the training mix,
 * confidence histogram and low-confidence rate, input drift over time against its threshold — and its alarms.
 * Polled every 3 s, so the charts move while a script streams images.
 */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useMemo, useState } from 'react';
import { useTRPC } from '../client/trpc.ts';
import { ReviewLink } from '../reviews/ReviewLink.tsx';
import { formatDateTime } from '../runs/format.ts';
import { AlarmBanner } from './AlarmBanner.tsx';
import { classMixOption, confidenceOption, driftOption, volumeOption } from './charts.ts';
import { MonitorChart } from './MonitorChart.tsx';

const RANGES = [
  { hours: 1, label: 'last hour' },
  { hours: 24, label: 'last 24 h' },
  { hours: 24 * 7, label: 'last 7 days' },
  { hours: 24 * 30, label: 'last 30 days' },
];

const pct = (x: number | null | undefined) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)} %`);

export function MonitoringPage({ modelId }: { modelId: string }) {
  const trpc = useTRPC();
  const [hours, setHours] = useState(24);
  const view = useQuery({ ...trpc.monitoring.get.queryOptions({ modelId, hours }), refetchInterval: 3000 });
  const d = view.data;
  const options = useMemo(() => {
    if (!d) return null;
    return {
      volume: volumeOption(d.buckets, d.range),
      mix: classMixOption(d.buckets, d.model.labels, d.trainingMix, d.range),
      confidence: confidenceOption(d.histogram.counts, d.histogram.lowConfidenceBelow),
      drift: driftOption(d.buckets, d.drift?.threshold ?? null, d.range),
    };
  }, [d]);
  if (view.error) return <p role="alert">Could not load the monitoring of model {modelId}: {view.error.message}</p>;
  if (!d || !options) return <p>Loading…</p>;
  const points = d.buckets.length;
  return (
    <div style={{ display: 'grid', gap: 16 }} data-testid="monitoring">
      <div style={{ display: 'flex', gap: 16, flexWrap: 'wrap', alignItems: 'baseline' }}>
        <h1 style={{ fontSize: 20, margin: 0 }}>
          Monitoring · <Link href={`/models/${encodeURIComponent(modelId)}`}>{d.model.name}</Link> v{d.model.version}
        </h1>
        <span className="df-small df-muted">{d.model.stage}</span>
        <span className="df-small">
          <ReviewLink modelId={modelId} />
        </span>
        <label className="df-small">
          range{' '}
          <select value={hours} onChange={(e) => setHours(Number(e.target.value))} data-testid="monitoring-range">
            {RANGES.map((r) => (
              <option key={r.hours} value={r.hours}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <AlarmBanner modelId={modelId} link={false} />
      <div style={{ display: 'flex', gap: 24, flexWrap: 'wrap', fontSize: 13 }} data-testid="monitoring-totals">
        <span>
          predictions <b data-testid="monitoring-count">{d.totals.predictions}</b>
        </span>
        <span>
          low-confidence <b>{pct(d.totals.lowConfidenceRate)}</b> (below {d.histogram.lowConfidenceBelow})
        </span>
        <span>
          drifted <b data-testid="monitoring-drift-rate">{pct(d.totals.driftRate)}</b>
          {d.drift ? ` (score above ${d.drift.threshold.toFixed(3)}, the ${Math.round(d.drift.percentile * 100)}th percentile of ${d.drift.calibration.count} ${d.drift.calibration.split} images)` : ' — this model has no drift reference (models deployed before drift scoring, and ONNX-backbone models, have none)'}
        </span>
      </div>
      {d.totals.predictions === 0 ? (
        <p className="df-small" data-testid="monitoring-empty" style={{ margin: 0, color: '#5b6470' }}>
          No predictions in this range yet. Send images to the prediction API (README, "Prediction API") or drop them on
          the model page: the charts and rules fill as they arrive.
        </p>
      ) : null}
      {d.rules.length ? (
        <table className="df-small" data-testid="monitoring-rules" style={{ borderCollapse: 'collapse' }}>
          <thead>
            <tr>
              <th align="left">rule (last {d.thresholds?.window} predictions)</th>
              <th align="right">now</th>
              <th align="right">alarm above</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {d.rules.map((r) => (
              <tr key={r.rule} data-rule={r.rule} data-firing={r.firing}>
                <td>{r.rule.replace(/_/g, ' ')}</td>
                <td align="right">{r.value === null ? 'not enough data' : r.rule === 'class_mix' ? r.value.toFixed(2) : pct(r.value)}</td>
                <td align="right">{r.rule === 'class_mix' ? r.threshold : pct(r.threshold)}</td>
                <td style={{ color: r.firing ? '#c92a2a' : '#2b8a3e', paddingLeft: 12 }}>{r.firing ? 'firing' : 'ok'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(420px, 1fr))', gap: 16 }}>
        <section>
          <h2 style={{ fontSize: 14 }}>Prediction volume</h2>
          <MonitorChart option={options.volume} height={240} testId="chart-volume" label="Predictions over time" points={points} />
        </section>
        <section>
          <h2 style={{ fontSize: 14 }}>Class mix over time (dashed: training mix)</h2>
          <MonitorChart option={options.mix} height={240} testId="chart-class-mix" label="Class mix over time against the training mix" points={points} />
        </section>
        <section>
          <h2 style={{ fontSize: 14 }}>Confidence</h2>
          <MonitorChart option={options.confidence} height={240} testId="chart-confidence" label="Confidence histogram" points={d.totals.predictions} />
        </section>
        <section>
          <h2 style={{ fontSize: 14 }}>Input drift (per bucket: mean and max score)</h2>
          <MonitorChart option={options.drift} height={240} testId="chart-drift" label="Drift score over time with its threshold" points={points} />
        </section>
      </div>
      <section>
        <h2 style={{ fontSize: 14 }}>Alarm history</h2>
        {d.recentAlarms.length === 0 ? (
          <p className="df-small df-muted">No alarm yet.</p>
        ) : (
          <ul className="df-small" data-testid="alarm-history">
            {d.recentAlarms.map((a) => (
              <li key={a.id}>
                {formatDateTime(a.raisedAt)} — {a.clearedAt ? `cleared ${formatDateTime(a.clearedAt)}` : 'open'}: {a.message}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
