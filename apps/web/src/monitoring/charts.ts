/**
 * ECharts options for the monitoring page (pure): prediction volume, class mix over time against the training mix,
 * the confidence histogram and the drift score over time with its threshold. Time axes with dataZoom (slider and
 * wheel), tooltips with the values on hover.
 */
import type { EChartsCoreOption } from 'echarts/core';

export interface MonitoringBucket {
  t: number;
  count: number;
  lowConfidence: number;
  driftMean: number | null;
  driftMax: number | null;
  drifted: number;
  classes: Record<string, number>;
}

const FONT = { fontSize: 11, color: '#424a53' };
const zoom = [
  { type: 'inside', xAxisIndex: 0 },
  { type: 'slider', xAxisIndex: 0, height: 18, bottom: 6 },
];
const grid = { left: 48, right: 24, top: 32, bottom: 56 };
const timeAxis = (range: { from: number; to: number }) => ({ type: 'time', min: range.from, max: range.to, axisLabel: FONT });

export function volumeOption(buckets: MonitoringBucket[], range: { from: number; to: number }): EChartsCoreOption {
  return {
    animation: false,
    grid,
    tooltip: { trigger: 'axis' },
    legend: { top: 0, textStyle: FONT },
    dataZoom: zoom,
    xAxis: timeAxis(range),
    yAxis: { type: 'value', name: 'predictions', minInterval: 1, axisLabel: FONT, nameTextStyle: FONT },
    series: [
      { name: 'predictions', type: 'bar', data: buckets.map((b) => [b.t, b.count]), itemStyle: { color: '#2f6fc0' } },
      { name: 'low-confidence', type: 'bar', data: buckets.map((b) => [b.t, b.lowConfidence]), itemStyle: { color: '#e8590c' } },
    ],
  };
}

/** Each class's share of the bucket's predictions (stacked areas); the training share as a dashed line per class. */
export function classMixOption(buckets: MonitoringBucket[], labels: string[], trainingMix: Record<string, number> | null, range: { from: number; to: number }): EChartsCoreOption {
  const trainTotal = trainingMix ? Object.values(trainingMix).reduce((a, b) => a + b, 0) : 0;
  return {
    animation: false,
    grid,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => (typeof v === 'number' ? `${(v * 100).toFixed(1)} %` : String(v)) },
    legend: { top: 0, type: 'scroll', textStyle: FONT },
    dataZoom: zoom,
    xAxis: timeAxis(range),
    yAxis: { type: 'value', min: 0, max: 1, axisLabel: { ...FONT, formatter: (v: number) => `${Math.round(v * 100)} %` } },
    series: labels.map((label) => ({
      name: label,
      type: 'line',
      stack: 'mix',
      areaStyle: { opacity: 0.5 },
      symbol: 'none',
      data: buckets.map((b) => [b.t, b.count ? (b.classes[label] ?? 0) / b.count : 0]),
      ...(trainTotal
        ? {
            markLine: {
              symbol: 'none',
              silent: false,
              lineStyle: { type: 'dashed', width: 1 },
              label: { show: false },
              tooltip: { formatter: `training share of ${label}: ${(((trainingMix?.[label] ?? 0) / trainTotal) * 100).toFixed(1)} %` },
              // Stacked: the training line of a class sits at the cumulative training share up to it.
              data: [{ yAxis: labels.slice(0, labels.indexOf(label) + 1).reduce((a, l) => a + (trainingMix?.[l] ?? 0), 0) / trainTotal }],
            },
          }
        : {}),
    })),
  };
}

export function confidenceOption(counts: number[], lowBelow: number): EChartsCoreOption {
  const bins = counts.length;
  const names = counts.map((_, i) => `${(i / bins).toFixed(2)}–${((i + 1) / bins).toFixed(2)}`);
  return {
    animation: false,
    grid: { ...grid, bottom: 40 },
    tooltip: { trigger: 'axis' },
    xAxis: { type: 'category', data: names, name: 'confidence', nameLocation: 'middle', nameGap: 26, axisLabel: { ...FONT, interval: 3 }, nameTextStyle: FONT },
    yAxis: { type: 'value', minInterval: 1, axisLabel: FONT },
    series: [
      {
        name: 'predictions',
        type: 'bar',
        data: counts.map((c, i) => ({ value: c, itemStyle: { color: (i + 1) / bins <= lowBelow + 1e-9 ? '#e8590c' : '#2f6fc0' } })),
        markLine: { symbol: 'none', label: { formatter: `low confidence < ${lowBelow}`, ...FONT }, data: [{ xAxis: Math.min(bins - 1, Math.floor(lowBelow * bins)) }] },
      },
    ],
  };
}

export function driftOption(buckets: MonitoringBucket[], threshold: number | null, range: { from: number; to: number }): EChartsCoreOption {
  const scored = buckets.filter((b) => b.driftMean !== null);
  return {
    animation: false,
    grid,
    tooltip: { trigger: 'axis', valueFormatter: (v: number) => (typeof v === 'number' ? v.toFixed(3) : String(v)) },
    legend: { top: 0, textStyle: FONT },
    dataZoom: zoom,
    xAxis: timeAxis(range),
    yAxis: { type: 'value', name: 'drift score', axisLabel: FONT, nameTextStyle: FONT },
    series: [
      {
        name: 'mean',
        type: 'line',
        data: scored.map((b) => [b.t, b.driftMean]),
        itemStyle: { color: '#2f6fc0' },
        ...(threshold !== null
          ? { markLine: { symbol: 'none', lineStyle: { color: '#c92a2a', type: 'dashed' }, label: { formatter: `threshold ${threshold.toFixed(3)}`, ...FONT }, data: [{ yAxis: threshold }] } }
          : {}),
      },
      { name: 'max', type: 'line', data: scored.map((b) => [b.t, b.driftMax]), itemStyle: { color: '#e8590c' }, lineStyle: { type: 'dotted' } },
    ],
  };
}
