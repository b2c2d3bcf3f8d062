'use client';
/**
 * Defect-vs-good operating point: pick a threshold by target defect recall or by maximum false-alarm rate and
 * see the binary and multi-class confusion at it. Recomputed in the browser from the per-image probabilities
 * with the engine's own rule (`@defectflow/engine/decision`), so what is shown is what the exported model does.
 */
import {
  type OperatingMode,
  binaryRates,
  confusionAt,
  NEVER_FLAG,
  thresholdFor,
} from '@defectflow/engine/decision';
import { useMemo, useState } from 'react';
import type { ReportMetrics } from '../metrics.ts';
import { ConfusionMatrix } from './ConfusionMatrix.tsx';

const RANGE: Record<Exclude<OperatingMode, 'argmax'>, { min: number; max: number; initial: number }> = {
  'defect-recall': { min: 0.5, max: 1, initial: 0.99 },
  'false-alarm': { min: 0, max: 0.5, initial: 0.05 },
};

const pct1 = (v: number) => `${(v * 100).toFixed(1)} %`;

/** Whether the report can offer the control: a good class and per-image probabilities. */
export function canPickOperatingPoint(metrics: ReportMetrics): boolean {
  const good = metrics.operatingPoint?.goodClass ?? metrics.roc?.goodClass;
  return Boolean(good && metrics.classes.includes(good) && metrics.predictions.length > 0 && metrics.predictions.every((p) => p.probs?.length === metrics.classes.length));
}

export function OperatingPoint({ metrics, runId }: { metrics: ReportMetrics; runId: string }) {
  const evaluated = metrics.operatingPoint;
  const goodClass = (evaluated?.goodClass ?? metrics.roc?.goodClass) as string;
  const [mode, setMode] = useState<OperatingMode>(evaluated?.mode ?? 'argmax');
  const [target, setTarget] = useState<number>(evaluated?.target ?? RANGE['defect-recall'].initial);

  const view = useMemo(() => {
    const g = metrics.classes.indexOf(goodClass);
    const rows = metrics.predictions.map((p) => p.probs as number[]);
    const labels = metrics.predictions.map((p) => metrics.classes.indexOf(p.trueLabel));
    const threshold = mode === 'argmax' ? null : thresholdFor(rows.map((r) => 1 - (r[g] as number)), labels.map((l) => l !== g), mode, target);
    const { confusion, binary, predicted } = confusionAt(rows, labels, metrics.classes.length, g, threshold);
    const cells: ReportMetrics['cells'] = {};
    for (const t of metrics.classes) cells[t] = Object.fromEntries(metrics.classes.map((c) => [c, [] as string[]]));
    const predictions = metrics.predictions.map((p, i) => {
      const predLabel = metrics.classes[predicted[i] as number] as string;
      cells[p.trueLabel]?.[predLabel]?.push(p.id);
      return { ...p, predLabel, confidence: p.probs?.[predicted[i] as number] ?? p.confidence };
    });
    return { threshold, binary, rates: binaryRates(binary), shown: { ...metrics, confusion, cells, predictions } };
  }, [metrics, goodClass, mode, target]);

  const { binary, rates, threshold } = view;
  const defects = binary.caught + binary.missed;
  const goods = binary.passed + binary.flagged;
  const range = mode === 'argmax' ? null : RANGE[mode];
  const cell = (n: number, ok: boolean, testId: string) => (
    <td data-testid={testId} style={{ padding: '6px 14px', textAlign: 'right', fontWeight: 700, background: n === 0 ? '#fff' : ok ? '#dcfce7' : '#fee2e2' }}>
      {n}
    </td>
  );
  return (
    <section data-testid="operating-point" style={{ display: 'grid', gap: 10 }}>
      <h3 style={{ fontSize: 15, margin: 0 }}>Operating point: defect vs {goodClass}</h3>
      <p style={{ fontSize: 12, color: '#3e4651', margin: 0, maxWidth: 760 }}>
        Each image gets a defect score = 1 − p({goodClass}). At or above the threshold it is called the most probable defect class,
        below it {goodClass}. Try a target here; to ship it, set the same Operating point on the Evaluate node and run again —
        the deployed model uses the evaluate node's setting
        {evaluated ? ` (now ${evaluated.mode} ${evaluated.mode === 'defect-recall' ? pct1(evaluated.target) : `≤ ${pct1(evaluated.target)}`}, threshold ${evaluated.threshold.toFixed(3)})` : ' (now: most probable class)'}.
      </p>
      <div style={{ display: 'flex', gap: 12, flexWrap: 'wrap', alignItems: 'center', fontSize: 13 }}>
        <label>
          Pick by{' '}
          <select
            data-testid="op-mode"
            value={mode}
            onChange={(e) => {
              const next = e.target.value as OperatingMode;
              setMode(next);
              if (next !== 'argmax') setTarget(RANGE[next].initial);
            }}
          >
            <option value="argmax">most probable class (no threshold)</option>
            <option value="defect-recall">target defect recall (catch X % of defects)</option>
            <option value="false-alarm">max false-alarm rate (good parts flagged)</option>
          </select>
        </label>
        {range ? (
          <label style={{ display: 'flex', gap: 8, alignItems: 'center' }}>
            {mode === 'defect-recall' ? 'catch at least' : 'flag at most'}
            <input
              type="range"
              data-testid="op-target-slider"
              min={range.min * 100}
              max={range.max * 100}
              step={0.5}
              value={target * 100}
              onChange={(e) => setTarget(Number(e.target.value) / 100)}
            />
            <input
              type="number"
              data-testid="op-target"
              min={range.min * 100}
              max={range.max * 100}
              step={0.5}
              value={Number((target * 100).toFixed(2))}
              onChange={(e) => {
                const v = Number(e.target.value);
                if (Number.isFinite(v)) setTarget(Math.min(range.max, Math.max(range.min, v / 100)));
              }}
              style={{ width: 64 }}
            />
            {mode === 'defect-recall' ? '% of defects' : '% of good parts'}
          </label>
        ) : null}
        <span data-testid="op-threshold" style={{ color: '#3e4651' }}>
          {threshold === null ? 'no threshold' : threshold >= NEVER_FLAG ? 'threshold: above every score (nothing flagged)' : `threshold ${threshold.toFixed(3)}`}
        </span>
      </div>
      <div style={{ display: 'flex', gap: 24, flexWrap: 'wrap', alignItems: 'flex-start' }}>
        <table data-testid="binary-confusion" style={{ borderCollapse: 'collapse', fontSize: 13 }}>
          <thead>
            <tr style={{ borderBottom: '2px solid #d0d4da' }}>
              <th style={{ padding: '4px 10px', textAlign: 'left' }}>true ↓ / called →</th>
              <th style={{ padding: '4px 10px' }}>defect</th>
              <th style={{ padding: '4px 10px' }}>{goodClass}</th>
            </tr>
          </thead>
          <tbody>
            <tr style={{ borderBottom: '1px solid #eef0f3' }}>
              <td style={{ padding: '4px 10px' }}>defect ({defects})</td>
              {cell(binary.caught, true, 'op-caught')}
              {cell(binary.missed, false, 'op-missed')}
            </tr>
            <tr>
              <td style={{ padding: '4px 10px' }}>{goodClass} ({goods})</td>
              {cell(binary.flagged, false, 'op-flagged')}
              {cell(binary.passed, true, 'op-passed')}
            </tr>
          </tbody>
        </table>
        <p data-testid="op-summary" style={{ fontSize: 13, margin: 0, maxWidth: 420 }}>
          Defects caught: <b>{binary.caught}</b> of {defects} ({pct1(rates.defectRecall)}); missed {binary.missed}.
          <br />
          Good parts flagged as defective: <b>{binary.flagged}</b> of {goods} ({pct1(rates.falseAlarmRate)}).
        </p>
      </div>
      <ConfusionMatrix metrics={view.shown} runId={runId} />
    </section>
  );
}
