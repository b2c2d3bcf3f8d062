'use client';
/**
 * A line chart drawn by Apache ECharts (SVG renderer, through the monitoring page's wrapper): value axes, any number
 * of series (faint lines, lines with point markers, dashed), values on hover, zoom on the x axis (wheel and slider),
 * and an HTML legend. The figure keeps `data-points` (all points) and each legend entry `data-series` /
 * `data-count`, which the browser tests read.
 */
import { type ReactNode, useMemo } from 'react';
import { MonitorChart } from '../../monitoring/MonitorChart.tsx';
import { lineChartOption, type Series } from './options.ts';

export type { Series } from './options.ts';

export interface LineChartProps {
  series: Series[];
  title?: string;
  xLabel?: string;
  yDomain?: [number, number];
  xDomain?: [number, number];
  width?: number;
  height?: number;
  testId?: string;
  empty?: ReactNode;
}

export function LineChart({ series, title, xLabel, yDomain, xDomain, width = 420, height = 220, testId, empty = 'No data yet' }: LineChartProps) {
  const total = series.reduce((n, s) => n + s.points.length, 0);
  const hasData = series.some((s) => s.points.some((p) => typeof p.y === 'number' && Number.isFinite(p.y)));
  const option = useMemo(() => lineChartOption({ series, xLabel, xDomain, yDomain, slider: height >= 200 }), [series, xLabel, xDomain, yDomain, height]);
  return (
    <figure className="df-chart" data-testid={testId} data-points={total} style={{ margin: 0, maxWidth: Math.round(width * 1.35) }}>
      {title ? <figcaption style={{ fontWeight: 600, fontSize: 13, marginBottom: 4 }}>{title}</figcaption> : null}
      {hasData ? (
        <MonitorChart option={option} height={height} label={title ?? 'line chart'} points={total} />
      ) : (
        <div style={{ height, display: 'grid', placeItems: 'center', fontSize: 12, color: '#8a93a0', border: '1px solid #d0d4da' }}>{empty}</div>
      )}
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 10, fontSize: 11, color: '#5b6470' }}>
        {series.map((s) => (
          <span
            key={s.name}
            data-series={s.name}
            data-count={s.points.length}
            style={{ display: s.hideLegend ? 'none' : 'inline-flex', alignItems: 'center', gap: 4 }}
          >
            <svg width={16} height={6} aria-hidden>
              <line x1={0} x2={16} y1={3} y2={3} stroke={s.color} strokeWidth={2} strokeOpacity={s.faint ? 0.4 : 1} strokeDasharray={s.dashed ? '4 2' : undefined} />
            </svg>
            {s.name}
          </span>
        ))}
      </div>
    </figure>
  );
}

/** A stable colour per index, readable on white. */
export const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be185d', '#4d7c0f'];
