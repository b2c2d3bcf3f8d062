'use client';
/** Loss and accuracy curves of one run: per-batch loss faint, per-epoch train/val points on top. */
import { useMemo } from 'react';
import { isFinished, type RunViewState } from '../runState.ts';
import { LineChart, type Series } from './LineChart.tsx';
import type { Point } from './scale.ts';

export interface CurveSet {
  loss: Series[];
  acc: Series[];
  epochs: number;
}

export function trainingSeries(state: RunViewState, prefix = '', colors = { train: '#2563eb', val: '#dc2626' }): CurveSet {
  const ep = (pick: (p: RunViewState['epochs'][number]) => number | null): Point[] =>
    state.epochs.map((p) => ({ x: p.epoch, y: pick(p) })) // epoch N ends at x = N, as the batches;
  const hasVal = state.epochs.some((p) => p.valLoss !== null || p.valAcc !== null);
  const loss: Series[] = [
    {
      name: `${prefix}batch loss`,
      color: colors.train,
      faint: true,
      points: state.batches.map((b) => ({ x: b.x, y: b.loss })),
    },
    { name: `${prefix}train loss`, color: colors.train, markers: true, points: ep((p) => p.loss) },
  ];
  const acc: Series[] = [{ name: `${prefix}train acc`, color: colors.train, markers: true, points: ep((p) => p.acc) }];
  if (hasVal) {
    loss.push({ name: `${prefix}val loss`, color: colors.val, markers: true, dashed: true, points: ep((p) => p.valLoss) });
    acc.push({ name: `${prefix}val acc`, color: colors.val, markers: true, dashed: true, points: ep((p) => p.valAcc) });
  }
  const epochs = state.epochs.reduce((m, p) => Math.max(m, p.epochs), 0);
  return { loss, acc, epochs };
}

export function TrainingCurves({ state }: { state: RunViewState }) {
  const curves = useMemo(() => trainingSeries(state), [state]);
  const xDomain: [number, number] | undefined = curves.epochs > 0 ? [0, curves.epochs] : undefined;
  // A run that ended without training (failed early, cancelled) is not "waiting".
  const empty = isFinished(state.status) ? 'No training in this run.' : 'Waiting for training…';
  return (
    <div style={{ display: 'grid', gridTemplateColumns: 'repeat(auto-fit, minmax(280px, 1fr))', gap: 16 }}>
      <LineChart title="Loss" xLabel="epoch" series={curves.loss} xDomain={xDomain} testId="loss-curve" empty={empty} />
      <LineChart
        title="Accuracy"
        xLabel="epoch"
        series={curves.acc}
        xDomain={xDomain}
        yDomain={[0, 1]}
        testId="acc-curve"
        empty={empty}
      />
    </div>
  );
}
