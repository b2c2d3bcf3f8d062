'use client';
/**
 * A small React wrapper around Apache ECharts: inits on mount, setOption when the option changes, follows the
 * container's size, disposes on unmount. Only the charts and components the sweep page draws are registered,
 * and the SVG renderer (crisp at any zoom, and its marks are in the DOM).
 */
import { ParallelChart, ScatterChart } from 'echarts/charts';
import { GridComponent, ParallelComponent, TooltipComponent, VisualMapContinuousComponent } from 'echarts/components';
import { type ECharts, init, use } from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { useEffect, useRef } from 'react';
import type { SweepChartOption } from './charts.ts';

use([ParallelChart, ScatterChart, ParallelComponent, GridComponent, TooltipComponent, VisualMapContinuousComponent, SVGRenderer]);

export function EChart({
  option,
  height,
  testId,
  label,
  points,
}: {
  option: SweepChartOption;
  height: number;
  testId?: string;
  label: string;
  /** How many data points the option plots (data-points, for tests and for anyone inspecting the page). */
  points?: number;
}) {
  const container = useRef<HTMLDivElement>(null);
  const chart = useRef<ECharts | null>(null);

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const instance = init(el, undefined, { renderer: 'svg' });
    chart.current = instance;
    const observer = new ResizeObserver(() => instance.resize());
    observer.observe(el);
    return () => {
      observer.disconnect();
      instance.dispose();
      chart.current = null;
    };
  }, []);

  useEffect(() => {
    // notMerge: axes come and go when the scatter's param changes.
    chart.current?.setOption(option, { notMerge: true });
  }, [option]);

  return <div ref={container} role="img" aria-label={label} data-testid={testId} data-points={points} style={{ width: '100%', height }} />;
}
