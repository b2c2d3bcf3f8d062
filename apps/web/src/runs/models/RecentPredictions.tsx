'use client';
/**
 * The model's prediction log, newest first (predictions.list, refreshed every few seconds): time, where it came
 * from, class, confidence with a low-confidence badge, and a thumbnail when the image was kept. Pages go back in
 * time with "Older"; "Newest" returns to the first page.
 */
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../../client/trpc.ts';
import { formatDateTime } from '../format.ts';

const PAGE = 20;

export function RecentPredictions({ modelId }: { modelId: string }) {
  const trpc = useTRPC();
  // The cursors of the pages shown so far: the last one is the page on screen (null = newest).
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors.at(-1) ?? null;
  const page = useQuery({
    ...trpc.predictions.list.queryOptions({ modelId, limit: PAGE, cursor }),
    refetchInterval: cursor === null ? 5000 : false,
  });
  if (page.error) return <p role="alert">Could not load the prediction log: {page.error.message}</p>;
  const items = page.data?.items;
  if (!items) return <p className="df-muted">Loading…</p>;
  if (items.length === 0 && cursor === null) {
    return (
      <p className="df-empty" data-testid="recent-predictions-empty">
        No predictions yet. Images dropped above and calls to the prediction API are listed here.
      </p>
    );
  }
  return (
    <div style={{ display: 'grid', gap: 8 }}>
      <table className="df-table" data-testid="recent-predictions" style={{ fontSize: 13 }}>
        <thead>
          <tr>
            <th>time</th>
            <th>source</th>
            <th>image</th>
            <th>class</th>
            <th className="df-num">confidence</th>
            <th className="df-num">version</th>
            <th className="df-num">latency</th>
          </tr>
        </thead>
        <tbody>
          {items.map((p) => (
            <tr key={p.id} data-testid="prediction-row" data-prediction-id={p.id} data-source={p.source} data-low-confidence={p.lowConfidence}>
              <td>{formatDateTime(p.createdAt)}</td>
              <td>{p.source === 'api' ? 'API' : 'model page'}</td>
              <td>
                {p.hasImage ? (
                  <a href={`/api/predictions/${encodeURIComponent(p.id)}/image`} target="_blank" rel="noreferrer" title={`${p.imageName} (kept: ${p.imageReason === 'sample' ? 'sample' : 'low confidence'})`}>
                    {/* biome-ignore lint/performance/noImgElement: a server-rendered thumbnail of a kept prediction image */}
                    <img
                      data-testid="prediction-thumb"
                      src={`/api/predictions/${encodeURIComponent(p.id)}/image?thumb=48`}
                      alt={p.imageName}
                      width={48}
                      height={48}
                      style={{ objectFit: 'contain', background: '#f0f2f5', display: 'block' }}
                    />
                  </a>
                ) : (
                  <span className="df-muted df-small" title={`SHA-256 ${p.imageSha256}`}>
                    {p.imageName} (not kept)
                  </span>
                )}
              </td>
              <td data-testid="prediction-class">{p.label}</td>
              <td className="df-num">
                {(p.confidence * 100).toFixed(1)}%
                {p.lowConfidence ? (
                  <span className="df-badge" data-testid="low-confidence" style={{ marginLeft: 6, background: '#fff7ed', color: '#b45309' }} title="Below PREDICTION_LOW_CONFIDENCE: its image is kept for review">
                    low
                  </span>
                ) : null}
              </td>
              <td className="df-num">v{p.modelVersion}</td>
              <td className="df-num">{p.latencyMs} ms</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="df-row">
        <button type="button" className="df-btn df-btn-sm" disabled={cursor === null} onClick={() => setCursors([null])}>
          Newest
        </button>
        <button
          type="button"
          className="df-btn df-btn-sm"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors([...cursors, page.data.nextCursor])}
        >
          Older
        </button>
      </div>
    </div>
  );
}
