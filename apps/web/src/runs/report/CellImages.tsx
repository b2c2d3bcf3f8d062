'use client';
/**
 * Thumbnails of the evaluation images in one confusion cell, with true/predicted label and confidence; a click
 * opens the image large with the model's scores per class (← → step through the cell).
 */
import { useEffect, useMemo, useState } from 'react';
import { Modal } from '../../editor/Modal.tsx';
import { cellItems, type Prediction, type ReportMetrics } from '../metrics.ts';

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
  const [enlarged, setEnlarged] = useState<number | null>(null);
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
              <button
                type="button"
                data-testid="cell-image-open"
                title="Enlarge"
                onClick={() => setEnlarged(items.indexOf(it))}
                style={{ all: 'unset', display: 'block', cursor: 'zoom-in' }}
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
              </button>
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
      {enlarged !== null && items[enlarged] ? (
        <EnlargedImage
          item={items[enlarged]}
          classes={metrics.classes}
          runId={runId}
          position={`${enlarged + 1} of ${items.length}`}
          onStep={(d) => setEnlarged((i) => (i === null ? null : Math.min(items.length - 1, Math.max(0, i + d))))}
          onClose={() => setEnlarged(null)}
        />
      ) : null}
    </section>
  );
}

const LARGE = 512;

/** One evaluation image large, with its true class, the prediction, its confidence and every class's score. */
function EnlargedImage({
  item,
  classes,
  runId,
  position,
  onStep,
  onClose,
}: {
  item: Prediction;
  classes: string[];
  runId: string;
  position: string;
  onStep: (delta: number) => void;
  onClose: () => void;
}) {
  // ← → step through the cell's images.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'ArrowRight') onStep(1);
      if (e.key === 'ArrowLeft') onStep(-1);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onStep]);
  const wrong = item.trueLabel !== item.predLabel;
  const scores = item.probs ? classes.map((c, i) => [c, item.probs?.[i] ?? 0] as const).sort((a, b) => b[1] - a[1]) : [];
  return (
    <Modal title={item.id} onClose={onClose} testId="enlarged-image" wide>
      <div style={{ display: 'grid', gridTemplateColumns: 'minmax(0, 1fr) 200px', gap: 16, alignItems: 'start' }}>
        {/* biome-ignore lint/performance/noImgElement: served (and resized) by our own /api/images */}
        <img
          src={`/api/images?run=${encodeURIComponent(runId)}&id=${encodeURIComponent(item.id)}&thumb=${LARGE}`}
          alt={item.id}
          data-testid="enlarged-img"
          style={{ width: '100%', maxWidth: LARGE, aspectRatio: '1 / 1', objectFit: 'contain', background: '#f0f2f5', borderRadius: 6 }}
        />
        <div style={{ display: 'grid', gap: 6, fontSize: 13 }}>
          <div data-testid="enlarged-true">
            true class <strong>{item.trueLabel}</strong>
          </div>
          <div data-testid="enlarged-pred" style={{ color: wrong ? '#b91c1c' : '#15803d' }}>
            predicted <strong>{item.predLabel}</strong>
            {Number.isFinite(item.confidence) ? ` · ${(item.confidence * 100).toFixed(1)}%` : ''}
          </div>
          {scores.length > 0 ? (
            <div style={{ display: 'grid', gap: 3, marginTop: 4 }}>
              {scores.map(([c, p]) => (
                <div key={c} style={{ fontSize: 12 }}>
                  <div style={{ display: 'flex', justifyContent: 'space-between', gap: 6 }}>
                    <span style={{ overflowWrap: 'anywhere' }}>{c}</span>
                    <span>{(p * 100).toFixed(1)}%</span>
                  </div>
                  <div style={{ height: 5, background: '#e8ebef', borderRadius: 3 }}>
                    <div style={{ width: `${Math.round(p * 100)}%`, height: '100%', borderRadius: 3, background: c === item.predLabel ? '#2563eb' : '#9aa3ad' }} />
                  </div>
                </div>
              ))}
            </div>
          ) : null}
          <a href={`/datasets/from-run/${encodeURIComponent(runId)}?item=${encodeURIComponent(item.id)}`}>Relabel in its dataset</a>
          <div style={{ display: 'flex', gap: 6, alignItems: 'center', marginTop: 6 }}>
            <button type="button" className="dfe-btn dfe-btn-small" onClick={() => onStep(-1)} aria-label="Previous image">
              ←
            </button>
            <span className="dfe-muted">{position}</span>
            <button type="button" className="dfe-btn dfe-btn-small" onClick={() => onStep(1)} aria-label="Next image">
              →
            </button>
          </div>
        </div>
      </div>
    </Modal>
  );
}
