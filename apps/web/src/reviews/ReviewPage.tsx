'use client';
/**
 * /models/<id>/review: the kept low-confidence and drifted images of a deployed model, one at a time, large, with
 * the prediction and its probabilities. Keys (keys.ts): 1–9 a class, Enter the predicted class, S/→ skip, ← back,
 * X discard. Labelled images become the training dataset's next version ("Add N labelled images"), "Retrain" reruns
 * the model's graph on it, and the comparison with the production model offers Promote once the run made a model.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useCallback, useEffect, useMemo, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { type RouterOutputs, useTRPC } from '../client/trpc.ts';
import { pct } from '../runs/report/EvaluationReport.tsx';
import { type ReviewAction, reviewKey } from './keys.ts';
import { RetrainPanel } from './RetrainPanel.tsx';

type Item = RouterOutputs['reviews']['queue']['items'][number];

export function ReviewPage({ modelId }: { modelId: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const { canEdit } = useMe();
  const queue = useQuery(trpc.reviews.queue.queryOptions({ modelId, limit: 200 }));
  const source = useQuery(trpc.reviews.source.queryOptions({ modelId }));
  const [skipped, setSkipped] = useState<string[]>([]);
  /** Items decided on this page, newest last: ← shows them again. */
  const [history, setHistory] = useState<Item[]>([]);
  const [revisit, setRevisit] = useState<Item | null>(null);
  const [extraClasses, setExtraClasses] = useState<string[]>([]);
  const [newClass, setNewClass] = useState('');
  const refresh = useCallback(() => void queryClient.invalidateQueries({ queryKey: trpc.reviews.pathKey() }), [queryClient, trpc]);
  const label = useMutation(trpc.reviews.label.mutationOptions({ onSuccess: refresh }));
  const add = useMutation(trpc.reviews.addToDataset.mutationOptions({ onSuccess: refresh }));

  const data = queue.data;
  const classes = useMemo(() => [...new Set([...(data?.model.labels ?? []), ...extraClasses])], [data, extraClasses]);
  // Decided here but maybe not yet refetched: never shown twice by a stale queue.
  const decided = new Set(history.map((h) => h.id));
  const current: Item | null = revisit ?? data?.items.find((i) => !skipped.includes(i.id) && !decided.has(i.id)) ?? null;

  const act = useCallback(
    (action: ReviewAction) => {
      if (!current) return;
      if (action.kind === 'skip') {
        if (revisit) setRevisit(null);
        else setSkipped((s) => [...s, current.id]);
        return;
      }
      if (action.kind === 'back') {
        const last = history.at(-1);
        if (last) {
          setHistory((h) => h.slice(0, -1));
          setRevisit(last);
        }
        return;
      }
      if (!canEdit || label.isPending) return;
      const value = action.kind === 'discard' ? null : action.label;
      label.mutate(
        { predictionId: current.id, label: value },
        {
          onSuccess: ({ item }) => {
            setHistory((h) => [...h, { ...current, reviewedLabel: item.reviewedLabel, reviewedAt: item.reviewedAt }]);
            setRevisit(null);
          },
        },
      );
    },
    [current, revisit, history, canEdit, label],
  );

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT')) return;
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      const action = reviewKey(e.key, classes, current?.label ?? null);
      if (!action) return;
      e.preventDefault();
      act(action);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [act, classes, current]);

  if (queue.error) return <p role="alert">Could not load the review queue of model {modelId}: {queue.error.message}</p>;
  if (!data) return <p>Loading…</p>;
  const { stats } = data;
  const probabilities = current ? Object.entries(current.probabilities).sort(([, a], [, b]) => b - a) : [];

  return (
    <div style={{ display: 'grid', gap: 16 }} data-testid="review">
      <div style={{ display: 'flex', gap: 16, flexWrap: 'wrap', alignItems: 'baseline' }}>
        <h1 style={{ fontSize: 20, margin: 0 }}>
          Review · <Link href={`/models/${encodeURIComponent(modelId)}`}>{data.model.name}</Link>
        </h1>
        <Link href={`/models/${encodeURIComponent(modelId)}/monitoring`} className="df-small">
          Monitoring
        </Link>
        <span data-testid="review-counter">
          <b>{stats.labelled}</b> labelled, <b>{stats.waiting}</b> waiting
        </span>
        <span className="df-small df-muted">
          {stats.added} added to the dataset, {stats.discarded} discarded
          {skipped.length ? `, ${skipped.length} skipped on this page` : ''}
        </span>
      </div>
      <p className="df-small df-muted" style={{ margin: 0 }}>
        Keys: <kbd>1</kbd>–<kbd>9</kbd> the class on the button · <kbd>Enter</kbd> confirm the prediction · <kbd>S</kbd>/<kbd>→</kbd> skip ·{' '}
        <kbd>←</kbd> back · <kbd>X</kbd> discard (not a part / unusable)
        {canEdit ? '' : ` — labelling ${NEEDS_ENGINEER}`}
      </p>
      {current ? (
        <div style={{ display: 'flex', gap: 24, flexWrap: 'wrap', alignItems: 'flex-start' }} data-testid="review-item" data-prediction-id={current.id}>
          {/* biome-ignore lint/performance/noImgElement: a kept production image served by the API, not a static asset */}
          <img
            src={current.imageUrl}
            alt={`${current.imageName} from production, predicted ${current.label}`}
            data-testid="review-image"
            style={{ width: 'min(480px, 90vw)', height: 'auto', imageRendering: 'pixelated', border: '1px solid #d4d4d8', borderRadius: 6, background: '#f4f4f5' }}
          />
          <div style={{ display: 'grid', gap: 10, minWidth: 260 }}>
            <div>
              predicted <b data-testid="review-predicted">{current.label}</b> at {pct(current.confidence)}
              {current.lowConfidence ? ' · low confidence' : ''}
              {current.drifted ? ` · drifted (score ${current.drift?.toFixed(3)})` : ''}
              {revisit ? (
                <div className="df-small" data-testid="review-revisit">
                  back to a reviewed image: {revisit.reviewedLabel === null ? 'discarded' : `labelled ${revisit.reviewedLabel}`}
                </div>
              ) : null}
            </div>
            <table className="df-small" data-testid="review-probabilities">
              <tbody>
                {probabilities.map(([name, p]) => (
                  <tr key={name}>
                    <td>{name}</td>
                    <td style={{ width: 160 }}>
                      <div style={{ background: '#2563eb', height: 8, width: `${Math.round(p * 100)}%`, borderRadius: 2 }} />
                    </td>
                    <td align="right">{pct(p)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <div style={{ display: 'flex', gap: 6, flexWrap: 'wrap' }}>
              {classes.slice(0, 9).map((c, i) => (
                <button
                  key={c}
                  type="button"
                  className="df-btn df-btn-sm"
                  data-testid={`review-class-${c}`}
                  disabled={!canEdit || label.isPending}
                  title={canEdit ? `Label as ${c} (key ${i + 1})` : NEEDS_ENGINEER}
                  onClick={() => act({ kind: 'label', label: c })}
                >
                  <kbd>{i + 1}</kbd> {c}
                  {c === current.label ? ' ⏎' : ''}
                </button>
              ))}
              <button type="button" className="df-btn df-btn-sm" data-testid="review-discard" disabled={!canEdit || label.isPending} onClick={() => act({ kind: 'discard' })}>
                <kbd>X</kbd> discard
              </button>
              <button type="button" className="df-btn df-btn-sm" data-testid="review-skip" onClick={() => act({ kind: 'skip' })}>
                <kbd>S</kbd> skip
              </button>
              <button type="button" className="df-btn df-btn-sm" data-testid="review-back" disabled={history.length === 0} onClick={() => act({ kind: 'back' })}>
                <kbd>←</kbd> back
              </button>
            </div>
            <form
              style={{ display: 'flex', gap: 6 }}
              onSubmit={(e) => {
                e.preventDefault();
                const name = newClass.trim();
                if (!name) return;
                setExtraClasses((x) => (x.includes(name) ? x : [...x, name]));
                setNewClass('');
                act({ kind: 'label', label: name });
              }}
            >
              <input
                value={newClass}
                onChange={(e) => setNewClass(e.target.value)}
                placeholder="new class (a new defect type)"
                aria-label="new class"
                data-testid="review-new-class"
                disabled={!canEdit}
              />
              <button type="submit" className="df-btn df-btn-sm" disabled={!canEdit || !newClass.trim()}>
                Label as new class
              </button>
            </form>
            {label.error ? (
              <span role="alert" className="df-error df-small">
                {label.error.message}
              </span>
            ) : null}
          </div>
        </div>
      ) : (
        <p data-testid="review-empty">
          {skipped.length ? (
            <>
              Nothing left but {skipped.length} skipped image(s).{' '}
              <button type="button" className="df-btn df-btn-sm" onClick={() => setSkipped([])}>
                Show the skipped ones again
              </button>
            </>
          ) : (
            'Nothing waiting for review: low-confidence and drifted predictions with a kept image show up here.'
          )}
        </p>
      )}
      <section style={{ display: 'grid', gap: 8 }}>
        <h2 style={{ fontSize: 16, margin: 0 }}>Back into training</h2>
        <p className="df-small df-muted" style={{ margin: 0 }} data-testid="review-source">
          {source.data?.dataset
            ? `Labelled images go into dataset ${source.data.dataset} as its next version (the model trained on ${source.data.version ? `v${source.data.version}` : 'its latest version at the time'}).`
            : (source.data?.unavailable ?? '')}
        </p>
        <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }}>
          <button
            type="button"
            className="df-btn"
            data-testid="review-add"
            disabled={!canEdit || stats.labelled === 0 || add.isPending}
            title={canEdit ? undefined : NEEDS_ENGINEER}
            onClick={() => add.mutate({ modelId })}
          >
            Add {stats.labelled} labelled image{stats.labelled === 1 ? '' : 's'} to the dataset
          </button>
          {add.data ? (
            <span className="df-small" data-testid="review-added">
              Added {add.data.addedImages} image(s) as {add.data.name} v{add.data.version}
              {add.data.newClasses.length ? ` (new class: ${add.data.newClasses.join(', ')})` : ''}
            </span>
          ) : null}
          {add.error ? (
            <span role="alert" className="df-error df-small">
              {add.error.message}
            </span>
          ) : null}
        </div>
        <RetrainPanel modelId={modelId} />
      </section>
    </div>
  );
}
