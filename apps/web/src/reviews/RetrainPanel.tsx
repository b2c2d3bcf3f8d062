'use client';
/**
 * "Retrain" on the review page: starts the model's run's graph on the dataset's latest version, then follows the run
 * (its id kept in the page's ?run= so a reload finds it) and, once it made a model, shows its headline metrics next to
 * the production model's, links the run comparison and offers Promote.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import { shortId } from '../runs/format.ts';
import { pct } from '../runs/report/EvaluationReport.tsx';

const FINISHED = ['succeeded', 'failed', 'cancelled', 'interrupted'];

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
    refetchInterval: (q) => (q.state.data && FINISHED.includes(q.state.data.run.status) && (q.state.data.candidate || q.state.data.run.status !== 'succeeded') ? false : 2000),
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
