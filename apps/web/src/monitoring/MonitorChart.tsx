'use client';
/** The sweep page's ECharts wrapper with the line and bar charts, dataZoom, legend and markLine also registered. */
import { BarChart, LineChart } from 'echarts/charts';
import { DataZoomComponent, LegendComponent, MarkLineComponent } from 'echarts/components';
import { use } from 'echarts/core';
import { EChart } from '../sweeps/EChart.tsx';

use([LineChart, BarChart, DataZoomComponent, LegendComponent, MarkLineComponent]);

export { EChart as MonitorChart };
