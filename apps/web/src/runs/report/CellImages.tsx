'use client';
/** Thumbnails of the evaluation images in one confusion cell, with true/predicted label and confidence. */
import { useMemo } from 'react';
import { cellItems, type ReportMetrics } from '../metrics.ts';

const LIMIT = 60;
const THUMB = 96;

export function CellImages({
  metrics,
  runId,
  trueLabel,
  predLabel,
  onClose,
}: {
  metrics: ReportMetrics;
  runId: string;
  trueLabel: string;
  predLabel: string | null;
  onClose: () => void;
}) {
  const items = useMemo(() => cellItems(metrics, trueLabel, predLabel), [metrics, trueLabel, predLabel]);
  return (
    <section className="df-card" data-testid="cell-images">
      <div style={{ display: 'flex', alignItems: 'center', gap: 8, marginBottom: 8 }}>
        <strong style={{ fontSize: 13 }}>
          true <em>{trueLabel}</em>
          {predLabel !== null ? (
            <>
              {' '}
              → predicted <em>{predLabel}</em>
            </>
          ) : null}{' '}
          · {items.length} image{items.length === 1 ? '' : 's'}
        </strong>
        <span style={{ flex: 1 }} />
        <button type="button" className="df-btn df-btn-sm" onClick={onClose}>
          Close
        </button>
      </div>
      {items.length === 0 ? <p style={{ fontSize: 12, color: '#5b6470', margin: 0 }}>No images in this cell.</p> : null}
      <div style={{ display: 'flex', flexWrap: 'wrap', gap: 8 }}>
        {items.slice(0, LIMIT).map((it) => {
          const wrong = it.trueLabel !== it.predLabel;
          return (
            <figure
              key={it.id}
              data-testid="cell-image"
              data-item-id={it.id}
              style={{ margin: 0, width: THUMB, fontSize: 10, border: `2px solid ${wrong ? '#dc2626' : '#16a34a'}`, borderRadius: 4 }}
            >
              {/* biome-ignore lint/performance/noImgElement: thumbnails come from our own /api/images, already resized */}
              <img
                src={`/api/images?run=${encodeURIComponent(runId)}&id=${encodeURIComponent(it.id)}&thumb=${THUMB}`}
                alt={it.id}
                width={THUMB - 4}
                height={THUMB - 4}
                loading="lazy"
                style={{ display: 'block', objectFit: 'cover', background: '#f0f2f5' }}
              />
              <figcaption style={{ padding: 2, lineHeight: 1.3 }} title={it.id}>
                <div>true: {it.trueLabel}</div>
                <div style={{ color: wrong ? '#b91c1c' : '#15803d' }}>pred: {it.predLabel}</div>
                <div>{Number.isFinite(it.confidence) ? `${(it.confidence * 100).toFixed(1)}%` : ''}</div>
                <a
                  href={`/datasets/from-run/${encodeURIComponent(runId)}?item=${encodeURIComponent(it.id)}`}
                  data-testid="relabel-link"
                  title="Open this image in its dataset to relabel it"
                >
                  Relabel
                </a>
              </figcaption>
            </figure>
          );
        })}
      </div>
      {items.length > LIMIT ? <p style={{ fontSize: 12, color: '#5b6470' }}>Showing {LIMIT} of {items.length}.</p> : null}
    </section>
  );
}
