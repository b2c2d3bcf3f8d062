'use client';
/**
 * A small inline-SVG line chart: axes with nice ticks, any number of series (faint lines, lines with
 * point markers, dashed), a legend. No chart library: a few hundred bytes of SVG per render.
 */
import { type ReactNode, useMemo } from 'react';
import { downsample, extent, formatTick, linearScale, linePath, niceDomain, type Point, ticks } from './scale.ts';

export interface Series {
  name: string;
  color: string;
  points: Point[];
  /** Thin translucent line (per-batch noise). */
  faint?: boolean;
  dashed?: boolean;
  /** Draw a marker at each point (per-epoch values). */
  markers?: boolean;
  /** Hide from the legend. */
  hideLegend?: boolean;
}

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

const M = { top: 10, right: 12, bottom: 28, left: 44 };
const MAX_POINTS = 400;

export function LineChart({
  series,
  title,
  xLabel,
  yDomain,
  xDomain,
  width = 420,
  height = 220,
  testId,
  empty = 'No data yet',
}: LineChartProps) {
  const layout = useMemo(() => {
    const xs = extent(series.flatMap((s) => s.points.map((p) => p.x)));
    const ys = extent(series.flatMap((s) => s.points.map((p) => p.y)));
    if (!xs || !ys) return null;
    const xd: [number, number] = xDomain ?? [Math.min(0, xs[0]), Math.max(xs[1], xs[0] + 1)];
    const yd = yDomain ?? niceDomain(ys, 4);
    const x = linearScale(xd, [M.left, width - M.right]);
    const y = linearScale(yd, [height - M.bottom, M.top]);
    return { x, y, xTicks: ticks(xd, 6), yTicks: ticks(yd, 4) };
  }, [series, xDomain, yDomain, width, height]);

  const total = series.reduce((n, s) => n + s.points.length, 0);
  return (
    <figure className="df-chart" data-testid={testId} data-points={total} style={{ margin: 0 }}>
      {title ? <figcaption style={{ fontWeight: 600, fontSize: 13, marginBottom: 4 }}>{title}</figcaption> : null}
      <svg
        viewBox={`0 0 ${width} ${height}`}
        width="100%"
        style={{ maxWidth: Math.round(width * 1.35), display: 'block', overflow: 'visible' }}
        role="img"
        aria-label={title}
      >
        <rect x={M.left} y={M.top} width={width - M.left - M.right} height={height - M.top - M.bottom} fill="none" stroke="#d0d4da" />
        {layout ? (
          <>
            {layout.yTicks.map((t) => (
              <g key={`y${t}`}>
                <line x1={M.left} x2={width - M.right} y1={layout.y(t)} y2={layout.y(t)} stroke="#eef0f3" />
                <text x={M.left - 4} y={layout.y(t) + 3} fontSize={10} textAnchor="end" fill="#5b6470">
                  {formatTick(t)}
                </text>
              </g>
            ))}
            {layout.xTicks.map((t) => (
              <text key={`x${t}`} x={layout.x(t)} y={height - M.bottom + 13} fontSize={10} textAnchor="middle" fill="#5b6470">
                {formatTick(t)}
              </text>
            ))}
            {xLabel ? (
              <text x={(M.left + width - M.right) / 2} y={height - 3} fontSize={10} textAnchor="middle" fill="#5b6470">
                {xLabel}
              </text>
            ) : null}
            {series.map((s) => {
              const pts = downsample(s.points, MAX_POINTS);
              return (
                <g key={s.name} data-series={s.name} data-count={s.points.length}>
                  <path
                    d={linePath(pts, layout.x, layout.y)}
                    fill="none"
                    stroke={s.color}
                    strokeWidth={s.faint ? 1 : 2}
                    strokeOpacity={s.faint ? 0.45 : 1}
                    strokeDasharray={s.dashed ? '5 3' : undefined}
                  />
                  {s.markers
                    ? s.points.map((p) =>
                        p.y === null || p.y === undefined || !Number.isFinite(p.y) ? null : (
                          <circle key={p.x} cx={layout.x(p.x)} cy={layout.y(p.y)} r={3} fill={s.color}>
                            <title>{`${s.name} @ ${formatTick(p.x)}: ${p.y.toFixed(4)}`}</title>
                          </circle>
                        ),
                      )
                    : null}
                </g>
              );
            })}
          </>
        ) : (
          <text x={width / 2} y={height / 2} fontSize={12} textAnchor="middle" fill="#8a93a0">
            {empty}
          </text>
        )}
      </svg>
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 10, fontSize: 11, color: '#5b6470' }}>
        {series
          .filter((s) => !s.hideLegend)
          .map((s) => (
            <span key={s.name} style={{ display: 'inline-flex', alignItems: 'center', gap: 4 }}>
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
