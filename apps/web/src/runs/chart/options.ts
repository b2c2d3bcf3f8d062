/**
 * The ECharts option of a line chart (pure, so it is tested without a browser): value axes (nice ticks from
 * ECharts), faint / dashed / marked series, an axis tooltip with every series' value on hover, and x dataZoom
 * (wheel and a slider). Long series (per-batch loss) are downsampled to MAX_POINTS first.
 */
import type { EChartsCoreOption } from 'echarts/core';
import { downsample, formatTick, type Point } from './scale.ts';

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

export interface LineOptionInput {
  series: Series[];
  xLabel?: string;
  xDomain?: [number, number];
  yDomain?: [number, number];
  /** Slider under the chart (the wheel zooms either way). */
  slider?: boolean;
}

export const MAX_POINTS = 400;
const FONT = { fontSize: 10, color: '#5b6470' };

function finite(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function lineChartOption({ series, xLabel, xDomain, yDomain, slider = true }: LineOptionInput): EChartsCoreOption {
  return {
    animation: false,
    grid: { left: 44, right: 14, top: 12, bottom: slider ? 62 : 34 },
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'line' },
      valueFormatter: (v: unknown) => (typeof v === 'number' ? v.toFixed(4) : String(v ?? '–')),
    },
    dataZoom: [{ type: 'inside', xAxisIndex: 0, filterMode: 'none' }, ...(slider ? [{ type: 'slider', xAxisIndex: 0, height: 14, bottom: 4, filterMode: 'none' }] : [])],
    xAxis: {
      type: 'value',
      name: xLabel,
      nameLocation: 'middle',
      nameGap: 20,
      nameTextStyle: FONT,
      axisLabel: { ...FONT, formatter: (v: number) => formatTick(v) },
      splitLine: { show: false },
      ...(xDomain ? { min: xDomain[0], max: xDomain[1] } : { min: (e: { min: number }) => Math.min(0, e.min) }),
    },
    yAxis: {
      type: 'value',
      scale: !yDomain,
      axisLabel: { ...FONT, formatter: (v: number) => formatTick(v) },
      splitLine: { lineStyle: { color: '#eef0f3' } },
      ...(yDomain ? { min: yDomain[0], max: yDomain[1] } : {}),
    },
    series: series.map((s) => ({
      name: s.name,
      type: 'line',
      data: downsample(s.points, MAX_POINTS).map((p) => [p.x, finite(p.y) ? p.y : null]),
      connectNulls: true,
      showSymbol: !!s.markers,
      symbol: s.markers ? 'circle' : 'none',
      symbolSize: 6,
      lineStyle: { color: s.color, width: s.faint ? 1 : 2, opacity: s.faint ? 0.45 : 1, type: s.dashed ? 'dashed' : 'solid' },
      itemStyle: { color: s.color },
      emphasis: { disabled: true },
    })),
  };
}
