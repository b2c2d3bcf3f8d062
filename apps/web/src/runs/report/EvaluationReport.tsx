'use client';
/** The evaluate node's report: headline metrics, per-class table, confusion matrix with images, ROC. */
import { LineChart } from '../chart/LineChart.tsx';
import type { ReportMetrics } from '../metrics.ts';
import { ConfusionMatrix } from './ConfusionMatrix.tsx';
import { canPickOperatingPoint, OperatingPoint } from './OperatingPoint.tsx';

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)}%`;
}

function Stat({ label, value, testId, note }: { label: string; value: string; testId?: string; note?: string }) {
  return (
    <div style={{ border: '1px solid #e3e6ea', borderRadius: 6, padding: '8px 14px', minWidth: 110 }}>
      <div style={{ fontSize: 11, color: '#5b6470' }}>{label}</div>
      <div style={{ fontSize: 22, fontWeight: 700 }} data-testid={testId}>
        {value}
      </div>
      {note ? (
        <div style={{ fontSize: 11, color: '#5b6470' }} data-testid={testId ? `${testId}-baseline` : undefined}>
          {note}
        </div>
      ) : null}
    </div>
  );
}

/** The majority-answer warning in words (or a quiet note that the model beats it), shared with the run page. */
export function BaselineNotice({ metrics }: { metrics: ReportMetrics }) {
  const b = metrics.baseline;
  if (!b || !metrics.verdict) return null;
  if (metrics.verdict.clearlyBetter)
    return (
      <p data-testid="baseline-ok" style={{ fontSize: 12, color: '#166534', margin: 0 }}>
        Beats always answering '{b.className}' ({pct(b.accuracy)} accuracy, {pct(b.macroF1)} macro F1).
      </p>
    );
  return (
    <div
      role="alert"
      data-testid="baseline-warning"
      style={{ border: '1px solid #f59e0b', background: '#fffbeb', color: '#78350f', borderRadius: 6, padding: '8px 12px', fontSize: 13 }}
    >
      <b>Not a useful model yet.</b> {metrics.verdict.warning} More data for the small classes, a different cut point or
      head, or class weights may help; do not deploy it as is.
    </div>
  );
}

export function EvaluationReport({ metrics, runId }: { metrics: ReportMetrics; runId: string }) {
  const roc = metrics.roc;
  const support = Object.values(metrics.perClass).reduce((a, c) => a + c.support, 0);
  return (
    <section data-testid="evaluation-report" style={{ display: 'grid', gap: 16 }}>
      <BaselineNotice metrics={metrics} />
      <div style={{ display: 'flex', gap: 12, flexWrap: 'wrap' }}>
        <Stat
          label="Accuracy"
          value={pct(metrics.accuracy)}
          testId="metric-accuracy"
          note={metrics.baseline ? `baseline ${pct(metrics.baseline.accuracy)} (always '${metrics.baseline.className}')` : undefined}
        />
        <Stat
          label="Macro F1"
          value={pct(metrics.macroF1)}
          testId="metric-macro-f1"
          note={metrics.baseline ? `baseline ${pct(metrics.baseline.macroF1)}` : undefined}
        />
        {roc ? <Stat label="AUROC" value={roc.auroc.toFixed(3)} testId="metric-auroc" /> : null}
        <Stat label="Test images" value={String(support || metrics.predictions.length)} />
      </div>
      {metrics.operatingPoint ? (
        <p data-testid="metrics-at-operating-point" style={{ fontSize: 12, color: '#3e4651', margin: 0 }}>
          These figures are at the Evaluate node's operating point ({metrics.operatingPoint.mode === 'defect-recall' ? 'catch at least' : 'flag at most'}{' '}
          {pct(metrics.operatingPoint.target)} of {metrics.operatingPoint.mode === 'defect-recall' ? 'defects' : 'good parts'}: a part is called
          defective when 1 − p({metrics.operatingPoint.goodClass}) ≥ {metrics.operatingPoint.threshold.toFixed(3)}), the rule the deployed model applies.
        </p>
      ) : null}
      <div style={{ display: 'flex', gap: 24, flexWrap: 'wrap', alignItems: 'flex-start' }}>
        {metrics.classes.length > 0 ? (
        <table data-testid="per-class-table" style={{ borderCollapse: 'collapse', fontSize: 13 }}>
          <thead>
            <tr style={{ borderBottom: '2px solid #d0d4da' }}>
              {['class', 'precision', 'recall', 'F1', 'support'].map((h) => (
                <th key={h} style={{ padding: '4px 10px', textAlign: h === 'class' ? 'left' : 'right' }}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {metrics.classes.map((c) => {
              const m = metrics.perClass[c];
              return (
                <tr key={c} style={{ borderBottom: '1px solid #eef0f3' }}>
                  <td style={{ padding: '4px 10px' }}>{c}</td>
                  <td style={{ padding: '4px 10px', textAlign: 'right' }}>{pct(m?.precision)}</td>
                  <td style={{ padding: '4px 10px', textAlign: 'right' }}>{pct(m?.recall)}</td>
                  <td style={{ padding: '4px 10px', textAlign: 'right' }}>{pct(m?.f1)}</td>
                  <td style={{ padding: '4px 10px', textAlign: 'right' }}>{m?.support ?? '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        ) : null}
        {roc && roc.points.length > 1 ? (
          <div style={{ width: 300 }} data-testid="roc">
            <LineChart
              title={`ROC, defect vs ${roc.goodClass ?? 'good'} · AUROC ${roc.auroc.toFixed(3)}`}
              xLabel="false positive rate"
              width={300}
              height={260}
              xDomain={[0, 1]}
              yDomain={[0, 1]}
              series={[
                { name: 'chance', color: '#9aa3ad', dashed: true, hideLegend: true, points: [{ x: 0, y: 0 }, { x: 1, y: 1 }] },
                { name: 'ROC', color: '#2563eb', points: roc.points.map((p) => ({ x: p.fpr, y: p.tpr })) },
              ]}
            />
            {roc.threshold !== undefined ? (
              <div style={{ fontSize: 12, color: '#3e4651' }}>
                Best-balanced threshold (Youden's J, defect score = 1 − p({roc.goodClass ?? 'good'})): {roc.threshold.toFixed(3)}
                {metrics.operatingPoint ? ` · applied: ${metrics.operatingPoint.threshold.toFixed(3)}` : ''}
              </div>
            ) : null}
          </div>
        ) : null}
      </div>
      {canPickOperatingPoint(metrics) ? (
        <OperatingPoint metrics={metrics} runId={runId} />
      ) : metrics.classes.length > 0 && metrics.confusion.length > 0 ? (
        <ConfusionMatrix metrics={metrics} runId={runId} />
      ) : (
        <p style={{ fontSize: 12, color: '#5b6470', margin: 0 }}>
          Only the headline metrics reached this server (the runner's run folder is not shared with it).
        </p>
      )}
    </section>
  );
}
