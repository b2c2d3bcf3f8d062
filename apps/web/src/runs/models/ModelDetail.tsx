'use client';
/** /models/<id>: one deployed model — metrics, where it came from, its stage, download, try-it predictions, its prediction log. */
import { useQuery } from '@tanstack/react-query';
import Link from 'next/link';
import { useTRPC } from '../../client/trpc.ts';
import { formatDateTime, shortId } from '../format.ts';
import { parseMetrics } from '../metrics.ts';
import { pct } from '../report/EvaluationReport.tsx';
import { AlarmBanner } from '../../monitoring/AlarmBanner.tsx';
import { ReviewLink } from '../../reviews/ReviewLink.tsx';
import { ModelActions } from './ModelActions.tsx';
import { PredictDrop } from './PredictDrop.tsx';
import { RecentPredictions } from './RecentPredictions.tsx';

export function ModelDetail({ modelId }: { modelId: string }) {
  const trpc = useTRPC();
  const model = useQuery(trpc.models.get.queryOptions({ id: modelId }));
  const lines = useQuery(trpc.productLines.list.queryOptions());
  if (model.error) return <p role="alert">Could not load model {modelId}: {model.error.message}</p>;
  const m = model.data;
  if (!m) return <p>Loading…</p>;
  const metrics = parseMetrics(m.metrics);
  return (
    <div style={{ display: 'grid', gap: 20 }} data-testid="model-detail">
      <AlarmBanner modelId={m.id} />
      <div style={{ display: 'flex', gap: 16, flexWrap: 'wrap', alignItems: 'baseline', fontSize: 13 }}>
        <h1 style={{ fontSize: 20, margin: 0 }} data-testid="model-name">
          {m.name}
        </h1>
        {m.productLineId ? (
          <Link href={`/product-lines/${encodeURIComponent(m.productLineId)}`}>
            {lines.data?.find((l) => l.id === m.productLineId)?.name ?? 'product line'}
          </Link>
        ) : null}
        <span>classes: {m.labels.join(', ')}</span>
        <span>
          input {m.inputSize}×{m.inputSize}
        </span>
        <span>
          accuracy {pct(metrics?.accuracy)}
          {metrics?.baseline ? ` (always '${metrics.baseline.className}': ${pct(metrics.baseline.accuracy)})` : ''}
        </span>
        <span>macro F1 {pct(metrics?.macroF1)}</span>
        {metrics?.roc ? <span>AUROC {metrics.roc.auroc.toFixed(3)}</span> : null}
        <span>deployed {formatDateTime(m.createdAt)}</span>
        {m.runId ? (
          <Link href={`/runs/${m.runId}`}>
            made by run <code>{shortId(m.runId)}</code>
          </Link>
        ) : null}
        <Link href={`/models/${encodeURIComponent(m.id)}/monitoring`} data-testid="model-monitoring-link">
          Monitoring
        </Link>
        <ReviewLink modelId={m.id} />
        <a href={`/api/models/${m.id}/archive`} download data-testid="model-download">
          Download TF.js (.tar.gz)
        </a>
        <a
          href={`/api/models/${m.id}/model.onnx`}
          download
          data-testid="model-download-onnx"
          title="uint8 RGB image resized to the model's input size, NHWC [N,h,w,3]; the graph normalises. Output: class probabilities in label order. See defectflow.json → onnx."
        >
          Download ONNX (.onnx)
        </a>
      </div>
      <ModelActions key={`${m.name}:${m.stage}`} model={m} lineName={lines.data?.find((l) => l.id === m.productLineId)?.name} />
      {metrics?.verdict?.warning ? (
        <div role="alert" data-testid="model-baseline-warning" style={{ color: '#92400e', background: '#fffbeb', border: '1px solid #f59e0b', borderRadius: 6, padding: '6px 10px', fontSize: 13 }}>
          ⚠ {metrics.verdict.warning}
        </div>
      ) : null}
      <p data-testid="model-decision" style={{ fontSize: 13, margin: 0 }}>
        {metrics?.operatingPoint
          ? `Decision: defect when 1 − p(${metrics.operatingPoint.goodClass}) ≥ ${metrics.operatingPoint.threshold.toFixed(3)} (${
              metrics.operatingPoint.mode === 'defect-recall'
                ? `chosen to catch ${pct(metrics.operatingPoint.target)} of defects`
                : `chosen to flag at most ${pct(metrics.operatingPoint.target)} of good parts`
            }; on the test split ${pct(metrics.operatingPoint.defectRecall)} caught, ${pct(metrics.operatingPoint.falseAlarmRate)} false alarms). Predictions below apply it.`
          : 'Decision: the most probable class (no defect threshold).'}
      </p>
      <section>
        <h2 style={{ fontSize: 16 }}>Try it</h2>
        <PredictDrop modelId={m.id} />
      </section>
      <section>
        <h2 style={{ fontSize: 16 }}>Recent predictions</h2>
        <p className="df-small df-muted" data-testid="model-api-hint" style={{ marginTop: 0 }}>
          Prediction API (API token of an engineer, see the README): <code>POST /api/v1/models/{m.id}/predict</code>
          {m.productLineId ? (
            <>
              {' '}
              or, for the production model of its line, <code>POST /api/v1/product-lines/{m.productLineId}/predict</code> (this one:{' '}
              <code>?version={m.version}</code>)
            </>
          ) : null}
        </p>
        <RecentPredictions modelId={m.id} />
      </section>
    </div>
  );
}
