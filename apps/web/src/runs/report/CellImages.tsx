'use client';
/**
 * Thumbnails of the evaluation images in one confusion cell, with true/predicted label and confidence; a click
 * opens the image large with the model's scores per class (← → step through the cell) and, on request, a heat map
 * of where the spatial head looked (models.heatmap: the class activation map of the run's deployed model).
 */
import { useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { useTRPC } from '../../client/trpc.ts';
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
        <ImageWithHeatMap runId={runId} itemId={item.id} />
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

type HeatMapAnswer =
  | { label: string; confidence: number; width: number; height: number; values: number[]; fit: 'stretch' | 'letterbox' }
  | { unavailable: string };

/** The enlarged image and its "where the head looked" toggle: a translucent map drawn over the part the model saw. */
function ImageWithHeatMap({ runId, itemId }: { runId: string; itemId: string }) {
  const trpc = useTRPC();
  const [show, setShow] = useState(false);
  const [natural, setNatural] = useState<{ w: number; h: number } | null>(null);
  const map = useQuery({ ...trpc.models.heatmap.queryOptions({ runId, itemId }), enabled: show, staleTime: Number.POSITIVE_INFINITY });
  const answer = map.data as HeatMapAnswer | undefined;
  return (
    <div style={{ display: 'grid', gap: 6, justifyItems: 'start' }}>
      <div style={{ position: 'relative', width: '100%', maxWidth: LARGE, aspectRatio: '1 / 1' }}>
        {/* biome-ignore lint/performance/noImgElement: served (and resized) by our own /api/images */}
        <img
          src={`/api/images?run=${encodeURIComponent(runId)}&id=${encodeURIComponent(itemId)}&thumb=${LARGE}`}
          alt={itemId}
          data-testid="enlarged-img"
          onLoad={(e) => setNatural({ w: e.currentTarget.naturalWidth, h: e.currentTarget.naturalHeight })}
          style={{ width: '100%', height: '100%', objectFit: 'contain', background: '#f0f2f5', borderRadius: 6 }}
        />
        {show && answer && 'values' in answer && natural ? <HeatMapCanvas map={answer} natural={natural} /> : null}
      </div>
      <div style={{ display: 'flex', gap: 8, alignItems: 'center', fontSize: 12 }}>
        <button type="button" className="dfe-btn dfe-btn-small" data-testid="heatmap-toggle" aria-pressed={show} onClick={() => setShow(!show)}>
          {show ? 'Hide where the head looked' : 'Show where the head looked'}
        </button>
        {show && map.isFetching ? <span className="dfe-muted">Computing the map…</span> : null}
        {show && answer && 'unavailable' in answer ? (
          <span className="dfe-muted" data-testid="heatmap-unavailable">
            No map: {answer.unavailable}.
          </span>
        ) : null}
        {show && answer && 'values' in answer ? (
          <span className="dfe-muted" data-testid="heatmap-caption">
            Red: what made the model say {answer.label}.
          </span>
        ) : null}
        {show && map.error ? (
          <span role="alert" style={{ color: '#b91c1c' }}>
            {map.error.message}
          </span>
        ) : null}
      </div>
    </div>
  );
}

/**
 * The map (a few cells a side) drawn on a canvas that many pixels large and stretched over the image by CSS, which
 * smooths it. "stretch" models saw the whole image squeezed square: the map covers the image itself. "letterbox"
 * models saw it centred in a square, as object-fit: contain shows it: the map covers the square.
 */
function HeatMapCanvas({ map, natural }: { map: Extract<HeatMapAnswer, { values: number[] }>; natural: { w: number; h: number } }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    const img = ctx.createImageData(map.width, map.height);
    map.values.forEach((v, i) => {
      // Yellow (weak) to red (strong), more opaque where stronger; nothing where the head saw nothing.
      img.data[i * 4] = 255;
      img.data[i * 4 + 1] = Math.round(220 * (1 - v));
      img.data[i * 4 + 2] = 0;
      img.data[i * 4 + 3] = Math.round(200 * v);
    });
    ctx.putImageData(img, 0, 0);
  }, [map]);
  const wide = natural.w >= natural.h;
  const share = wide ? natural.h / natural.w : natural.w / natural.h;
  const box =
    map.fit === 'letterbox'
      ? { left: 0, top: 0, width: '100%', height: '100%' }
      : wide
        ? { left: 0, top: `${((1 - share) / 2) * 100}%`, width: '100%', height: `${share * 100}%` }
        : { top: 0, left: `${((1 - share) / 2) * 100}%`, height: '100%', width: `${share * 100}%` };
  return (
    <canvas
      ref={ref}
      width={map.width}
      height={map.height}
      data-testid="heatmap"
      data-size={`${map.width}x${map.height}`}
      data-label={map.label}
      style={{ position: 'absolute', ...box, pointerEvents: 'none', borderRadius: 6 }}
    />
  );
}
