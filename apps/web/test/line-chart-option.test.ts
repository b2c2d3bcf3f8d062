/** The run page's line chart as an ECharts option: every series with its style, hover values, x zoom, fixed domains. */
import { describe, expect, it } from 'vitest';
import { lineChartOption, MAX_POINTS } from '../src/runs/chart/options.ts';

type Opt = {
  tooltip: { trigger: string; valueFormatter: (v: unknown) => string };
  dataZoom: Array<{ type: string; xAxisIndex: number }>;
  xAxis: { min: unknown; max?: number; name?: string };
  yAxis: { min?: number; max?: number; scale: boolean };
  series: Array<{ name: string; data: Array<[number, number | null]>; showSymbol: boolean; lineStyle: { width: number; opacity: number; type: string } }>;
};

describe('line chart option', () => {
  const batches = Array.from({ length: 1000 }, (_, i) => ({ x: i / 100, y: 2 - i / 1000 }));
  const option = lineChartOption({
    xLabel: 'epoch',
    xDomain: [0, 10],
    yDomain: [0, 1],
    series: [
      { name: 'batch loss', color: '#2563eb', faint: true, points: batches },
      { name: 'val acc', color: '#dc2626', markers: true, dashed: true, points: [{ x: 1, y: 0.5 }, { x: 2, y: null }, { x: 3, y: 0.75 }] },
    ],
  }) as unknown as Opt;

  it('keeps each series, downsampling a long one and leaving gaps as null', () => {
    expect(option.series.map((s) => s.name)).toEqual(['batch loss', 'val acc']);
    expect(option.series[0]!.data.length).toBeLessThanOrEqual(MAX_POINTS);
    expect(option.series[0]!.data.at(-1)![0]).toBeCloseTo(9.99, 6);
    expect(option.series[1]!.data).toEqual([
      [1, 0.5],
      [2, null],
      [3, 0.75],
    ]);
  });

  it('styles faint, marked and dashed series as the legend draws them', () => {
    expect(option.series[0]!.lineStyle).toMatchObject({ width: 1, opacity: 0.45, type: 'solid' });
    expect(option.series[0]!.showSymbol).toBe(false);
    expect(option.series[1]!.lineStyle).toMatchObject({ width: 2, opacity: 1, type: 'dashed' });
    expect(option.series[1]!.showSymbol).toBe(true);
  });

  it('shows values on hover and zooms the x axis by wheel and slider; fixed domains are kept', () => {
    expect(option.tooltip.trigger).toBe('axis');
    expect(option.tooltip.valueFormatter(0.123456)).toBe('0.1235');
    expect(option.dataZoom.map((z) => [z.type, z.xAxisIndex])).toEqual([
      ['inside', 0],
      ['slider', 0],
    ]);
    expect([option.xAxis.min, option.xAxis.max, option.xAxis.name]).toEqual([0, 10, 'epoch']);
    expect([option.yAxis.min, option.yAxis.max, option.yAxis.scale]).toEqual([0, 1, false]);
  });
});
