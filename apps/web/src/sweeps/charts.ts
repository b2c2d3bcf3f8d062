/**
 * ECharts options for the sweep page (pure, tested in apps/web/test/sweep-charts.test.ts): a parallel-coordinates
 * plot (an axis per varied param — log for log dimensions, category for lists — then the metric; lines coloured by
 * the metric, the best one drawn on top) and a metric-vs-parameter scatter.
 */
import { higherIsBetter, type SweepMetric, type SweepValue } from '@defectflow/nodes';
import type { EChartsCoreOption } from 'echarts/core';
import { formatParam, formatScore, METRIC_SHORT, type ParamColumn, type TrialView } from './view.ts';

/** ECharts' composed option types reject plain literals here; the page's tests check the option's content instead. */
export type SweepChartOption = EChartsCoreOption;

/** Light = worse, dark = better; the light end stays visible on white. */
const SCORE_COLOURS = ['#a9c4e4', '#6a9fd8', '#2f6fc0', '#0b3d80'];
const BEST_COLOUR = '#e8590c';
const FONT = { fontSize: 11, color: '#424a53' };

type AxisType = 'value' | 'log' | 'category';

function axisType(column: ParamColumn): AxisType {
  return column.dimension.kind === 'log' ? 'log' : column.dimension.kind === 'range' ? 'value' : 'category';
}

/** Category axes list the dimension's values in the order the user gave them. */
function categories(column: ParamColumn): string[] | undefined {
  return column.dimension.kind === 'list' ? column.dimension.values.map((v) => formatParam(v)) : undefined;
}

/** What an axis plots for one value: the string for a category axis, the number otherwise. */
function axisValue(column: ParamColumn, value: SweepValue | undefined): number | string | null {
  if (value === undefined) return null;
  return axisType(column) === 'category' ? formatParam(value) : typeof value === 'number' ? value : null;
}

export function scoredTrials(trials: TrialView[]): TrialView[] {
  return trials.filter((t) => t.score !== null && Number.isFinite(t.score));
}

function scoreExtent(trials: TrialView[]): [number, number] {
  const scores = trials.map((t) => t.score as number);
  let lo = Math.min(...scores);
  let hi = Math.max(...scores);
  if (!(hi > lo)) {
    // One score (or all equal): a small band around it, so the colour scale has a range.
    const pad = Math.abs(lo) * 0.05 || 0.01;
    lo -= pad;
    hi += pad;
  }
  return [lo, hi];
}

/** Tooltip text for one trial: number (best, current settings), every varied value, the score. */
export function trialTooltip(trial: TrialView, columns: ParamColumn[], metric: SweepMetric, bestIndex: number | null): string {
  const rows = columns.map((c) => `${escapeHtml(c.param)}: <b>${escapeHtml(formatParam(trial.params[c.key]))}</b>`);
  const best = trial.index === bestIndex ? ' ★ best' : '';
  const current = trial.baseline ? ' · current settings' : '';
  return [`Trial ${trial.index + 1}${best}${current}`, ...rows, `${METRIC_SHORT[metric]}: <b>${formatScore(metric, trial.score)}</b>`].join('<br/>');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

interface ChartInput {
  trials: TrialView[];
  columns: ParamColumn[];
  metric: SweepMetric;
  bestIndex: number | null;
}

/** An axis per varied param plus the metric; "better" is at the top of the metric axis either way. */
export function parallelOption({ trials, columns, metric, bestIndex }: ChartInput): SweepChartOption {
  const scored = scoredTrials(trials);
  const [lo, hi] = scored.length > 0 ? scoreExtent(scored) : [0, 1];
  const higher = higherIsBetter(metric);
  const row = (t: TrialView) => ({
    name: String(t.index),
    value: [...columns.map((c) => axisValue(c, t.params[c.key])), t.score as number],
  });
  const byIndex = new Map(scored.map((t) => [String(t.index), t] as const));
  const best = scored.find((t) => t.index === bestIndex);
  return {
    parallel: { left: 60, right: 110, top: 36, bottom: 30, parallelAxisDefault: { nameTextStyle: { ...FONT, fontWeight: 600 }, axisLabel: FONT } },
    parallelAxis: [
      ...columns.map((c, dim) => {
        const type = axisType(c);
        const d = c.dimension;
        return {
          dim,
          name: c.param,
          type,
          data: categories(c),
          ...(d.kind !== 'list' ? { min: d.min, max: d.max } : {}),
        };
      }),
      // scale: nice ticks around the scores (exact ends would print a label on top of a tick).
      { dim: columns.length, name: METRIC_SHORT[metric], type: 'value' as const, scale: true, inverse: !higher, axisLabel: { ...FONT, formatter: (v: number) => formatScore(metric, v) } },
    ],
    visualMap: {
      type: 'continuous',
      dimension: columns.length,
      seriesIndex: 0,
      min: lo,
      max: hi,
      inRange: { color: higher ? SCORE_COLOURS : [...SCORE_COLOURS].reverse() },
      text: [higher ? 'better' : 'worse', higher ? 'worse' : 'better'],
      textStyle: FONT,
      right: 8,
      top: 'middle',
      itemHeight: 120,
      calculable: false,
      formatter: (v: unknown) => formatScore(metric, Number(v)),
    },
    tooltip: {
      trigger: 'item',
      formatter: (p: unknown) => {
        const t = byIndex.get(String((p as { name?: string }).name));
        return t ? trialTooltip(t, columns, metric, bestIndex) : '';
      },
    },
    series: [
      { type: 'parallel', name: 'trials', animationDuration: 300, lineStyle: { width: 2, opacity: 0.75 }, emphasis: { lineStyle: { width: 3, opacity: 1 } }, data: scored.map(row) },
      { type: 'parallel', name: 'best', animationDuration: 300, z: 10, lineStyle: { width: 5, opacity: 1, color: BEST_COLOUR }, data: best ? [row(best)] : [] },
    ],
  };
}

/** The metric against one varied param; the best trial as a larger orange diamond. */
export function scatterOption({ trials, columns, metric, bestIndex }: ChartInput, column: ParamColumn): SweepChartOption {
  const scored = scoredTrials(trials);
  const type = axisType(column);
  const d = column.dimension;
  const point = (t: TrialView) => ({ name: String(t.index), value: [axisValue(column, t.params[column.key]), t.score as number] });
  const byIndex = new Map(scored.map((t) => [String(t.index), t] as const));
  const best = scored.find((t) => t.index === bestIndex);
  return {
    grid: { left: 64, right: 24, top: 24, bottom: 48 },
    xAxis: {
      type,
      name: column.param,
      nameLocation: 'middle',
      nameGap: 28,
      nameTextStyle: { ...FONT, fontWeight: 600 },
      axisLabel: FONT,
      data: categories(column),
      ...(d.kind !== 'list' ? { min: d.min, max: d.max } : {}),
    },
    yAxis: {
      type: 'value',
      name: METRIC_SHORT[metric],
      nameTextStyle: { ...FONT, fontWeight: 600 },
      axisLabel: { ...FONT, formatter: (v: number) => formatScore(metric, v) },
      scale: true,
    },
    tooltip: {
      trigger: 'item',
      formatter: (p: unknown) => {
        const t = byIndex.get(String((p as { name?: string }).name));
        return t ? trialTooltip(t, columns, metric, bestIndex) : '';
      },
    },
    series: [
      { type: 'scatter', name: 'trials', animationDuration: 300, symbolSize: 10, itemStyle: { color: '#2f6fc0', opacity: 0.8 }, data: scored.map(point) },
      { type: 'scatter', name: 'best', animationDuration: 300, symbol: 'diamond', symbolSize: 18, z: 10, itemStyle: { color: BEST_COLOUR }, data: best ? [point(best)] : [] },
    ],
  };
}
