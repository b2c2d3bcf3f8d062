'use client';
/**
 * "Retrain" on the review page: starts the model's run's graph on the dataset's latest version, then follows the run
 * (its id kept in the page's ?run= so a reload finds it) and, once it made a model, shows both models scored on the
 * run's test split side by side (the production model run on the same images by the server, with the difference per
 * metric and per class), each model's own-run metrics for reference, the run comparison link and Promote.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { type RouterOutputs, useTRPC } from '../client/trpc.ts';
import { shortId } from '../runs/format.ts';
import { pct } from '../runs/report/EvaluationReport.tsx';

const FINISHED = ['succeeded', 'failed', 'cancelled', 'interrupted'];

type SameSplit = NonNullable<RouterOutputs['reviews']['comparison']['sameSplit']>;

/** A signed difference in points ("+4.2 pts"), green when the retrained model is better. */
function Delta({ d }: { d: number }) {
  const pts = d * 100;
  const color = Math.abs(pts) < 0.05 ? undefined : pts > 0 ? 'var(--df-ok)' : 'var(--df-danger)';
  return <span style={{ color }}>{`${pts >= 0 ? '+' : '−'}${Math.abs(pts).toFixed(1)} pts`}</span>;
}

/** Both models on the retrain run's test split: accuracy, macro F1 and recall per class, with the difference. */
function SameSplitTable({ s }: { s: SameSplit }) {
  if (s.state === 'unavailable') {
    return (
      <div className="df-small df-muted" data-testid="review-same-split-unavailable">
        No comparison on the same test split: {s.reason}
      </div>
    );
  }
  if (s.state === 'scoring') {
    return (
      <div className="df-small" data-testid="review-same-split-scoring">
        Scoring the production model on the {s.images} test images of the run…
      </div>
    );
  }
  const rows: Array<{ key: string; name: string; prod: number; cand: number; note?: string }> = [
    { key: 'accuracy', name: 'accuracy', prod: s.production.accuracy, cand: s.candidate.accuracy },
    { key: 'macroF1', name: 'macro F1', prod: s.production.macroF1, cand: s.candidate.macroF1 },
    ...s.classes.map((cls) => ({
      key: `recall-${cls}`,
      name: `recall ${cls}`,
      prod: s.production.perClass[cls]?.recall ?? 0,
      cand: s.candidate.perClass[cls]?.recall ?? 0,
      note: `${s.candidate.perClass[cls]?.support ?? 0} images`,
    })),
  ];
  return (
    <div style={{ display: 'grid', gap: 4 }}>
      <div className="df-small" data-testid="review-same-split-caption">
        Same test split: {s.description}
        {s.failed.length > 0 ? ` (${s.failed.length} could not be run through the production model and count as wrong: ${s.failed.map((f) => f.id).join(', ')})` : ''}
      </div>
      <table className="df-small" style={{ borderCollapse: 'collapse', maxWidth: 560 }} data-testid="review-same-split" data-images={s.images}>
        <thead>
          <tr>
            <th align="left">metric</th>
            <th align="right">production v{s.production.version}</th>
            <th align="right">retrained</th>
            <th align="right">difference</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key} data-testid={`review-same-split-${r.key}`}>
              <td>
                {r.name}
                {r.note ? <span className="df-muted"> ({r.note})</span> : null}
              </td>
              <td align="right">{pct(r.prod)}</td>
              <td align="right">{pct(r.cand)}</td>
              <td align="right">
                <Delta d={r.cand - r.prod} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function RetrainPanel({ modelId }: { modelId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { canEdit } = useMe();
  const [runId, setRunId] = useState<string | null>(null);
  useEffect(() => setRunId(new URL(window.location.href).searchParams.get('run')), []);
  const retrain = useMutation(
    trpc.reviews.retrain.mutationOptions({
      onSuccess: (r) => {
        setRunId(r.runId);
        const url = new URL(window.location.href);
        url.searchParams.set('run', r.runId);
        window.history.replaceState(null, '', url);
      },
    }),
  );
  const comparison = useQuery({
    ...trpc.reviews.comparison.queryOptions({ modelId, runId: runId ?? '' }),
    enabled: runId !== null,
    refetchInterval: (q) => {
      const d = q.state.data;
      const settled = d && FINISHED.includes(d.run.status) && (d.run.status !== 'succeeded' || (d.candidate && d.sameSplit?.state !== 'scoring'));
      return settled ? false : 2000;
    },
  });
  const promote = useMutation(
    trpc.models.promote.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.reviews.pathKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.models.pathKey() });
      },
    }),
  );
  const c = comparison.data;
  return (
    <div style={{ display: 'grid', gap: 8 }} data-testid="review-retrain">
      <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
        <button
          type="button"
          className="df-btn"
          data-testid="review-retrain-start"
          disabled={!canEdit || retrain.isPending}
          title={canEdit ? "Run the model's pipeline (same params) on the dataset's latest version" : NEEDS_ENGINEER}
          onClick={() => retrain.mutate({ modelId })}
        >
          Retrain
        </button>
        {retrain.data && !retrain.data.ok ? (
          <span role="alert" className="df-error df-small">
            The runner refused the run: {retrain.data.errors.map((e) => e.message).join('; ')}
          </span>
        ) : null}
        {retrain.error ? (
          <span role="alert" className="df-error df-small">
            {retrain.error.message}
          </span>
        ) : null}
        {runId ? (
          <span className="df-small">
            run <Link href={`/runs/${runId}`}>{shortId(runId)}</Link>
            {retrain.data ? ` on ${retrain.data.dataset} v${retrain.data.version}` : ''}:{' '}
            <b data-testid="review-retrain-status">{c?.run.status ?? '…'}</b>
            {c?.run.error ? ` — ${c.run.error}` : ''}
          </span>
        ) : null}
      </div>
      {c?.candidate ? (
        <div data-testid="review-comparison" style={{ display: 'grid', gap: 8 }}>
          {c.sameSplit ? <SameSplitTable s={c.sameSplit} /> : null}
          <div className="df-small df-muted">Each model on its own run's test split, for reference:</div>
          <table className="df-small" style={{ borderCollapse: 'collapse', maxWidth: 560 }}>
            <thead>
              <tr>
                <th align="left">model</th>
                <th align="right">accuracy</th>
                <th align="right">macro F1</th>
              </tr>
            </thead>
            <tbody>
              {[
                { role: 'production', m: c.production },
                { role: 'retrained', m: c.candidate },
              ].map(({ role, m }) => (
                <tr key={role} data-testid={`review-comparison-${role}`}>
                  <td>
                    {role}: <Link href={`/models/${encodeURIComponent(m.id)}`}>{m.name}</Link> v{m.version} ({m.stage})
                  </td>
                  <td align="right">{pct(m.metrics.accuracy)}</td>
                  <td align="right">{pct(m.metrics.macroF1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
            <Link href={c.compareUrl} data-testid="review-compare-link">
              Compare the runs
            </Link>
            <button
              type="button"
              className="df-btn"
              data-testid="review-promote"
              disabled={!canEdit || promote.isPending || c.candidate.stage === 'production'}
              title={canEdit ? 'Put the retrained model in production; the current one is archived (rollback restores it)' : NEEDS_ENGINEER}
              onClick={() => promote.mutate({ id: c.candidate!.id })}
            >
              {c.candidate.stage === 'production' ? 'In production' : `Promote ${c.candidate.name} v${c.candidate.version}`}
            </button>
            {promote.error ? (
              <span role="alert" className="df-error df-small">
                {promote.error.message}
              </span>
            ) : null}
          </div>
        </div>
      ) : null}
    </div>
  );
}
