'use client';
/**
 * Confusion matrix as a heat map (rows = true class, columns = predicted; colour = share of the row,
 * green on the diagonal, red off it). Clicking a cell (or a row label) shows the images in it.
 */
import { useState } from 'react';
import type { ReportMetrics } from '../metrics.ts';
import { CellImages } from './CellImages.tsx';

/** Background for a cell: stronger with a larger share of its row. */
export function heatColor(share: number, diagonal: boolean): string {
  const a = Math.min(1, Math.max(0, share));
  if (a === 0) return '#ffffff';
  // Interpolate white → green/red; keep at least a tint so non-empty cells stand out.
  const alpha = 0.12 + 0.78 * a;
  return diagonal ? `rgba(22, 163, 74, ${alpha.toFixed(2)})` : `rgba(220, 38, 38, ${alpha.toFixed(2)})`;
}

export function ConfusionMatrix({ metrics, runId }: { metrics: ReportMetrics; runId: string }) {
  const [selected, setSelected] = useState<{ t: string; p: string | null } | null>(null);
  const { classes, confusion } = metrics;
  return (
    <div style={{ display: 'grid', gap: 12 }}>
      <table data-testid="confusion-matrix" style={{ borderCollapse: 'collapse', fontSize: 12, justifySelf: 'start' }}>
        <thead>
          <tr>
            <th style={{ padding: 4, textAlign: 'right', color: '#5b6470', fontWeight: 400 }}>true ↓ / predicted →</th>
            {/* Long class names wrap inside their column instead of widening the matrix. */}
            {classes.map((c) => (
              <th key={c} title={c} style={{ padding: 4, fontWeight: 600, maxWidth: 64, overflowWrap: 'anywhere', verticalAlign: 'bottom', fontSize: 11 }}>
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {classes.map((t, i) => {
            const row = confusion[i] ?? [];
            const total = row.reduce((a, b) => a + b, 0);
            return (
              <tr key={t}>
                <th style={{ padding: 4, textAlign: 'right', maxWidth: 150, overflowWrap: 'anywhere' }}>
                  <button
                    type="button"
                    onClick={() => setSelected({ t, p: null })}
                    title={`All ${t} images, misclassified first`}
                    style={{ background: 'none', border: 'none', cursor: 'pointer', fontWeight: 600, textDecoration: 'underline dotted' }}
                  >
                    {t}
                  </button>
                </th>
                {classes.map((p, j) => {
                  const count = row[j] ?? 0;
                  const share = total > 0 ? count / total : 0;
                  const isSel = selected?.t === t && selected.p === p;
                  return (
                    <td key={p} style={{ padding: 0 }}>
                      <button
                        type="button"
                        data-testid={`cm-cell-${i}-${j}`}
                        data-count={count}
                        aria-label={`true ${t}, predicted ${p}: ${count}`}
                        onClick={() => setSelected({ t, p })}
                        style={{
                          width: 64,
                          height: 44,
                          border: isSel ? '2px solid #1f2933' : '1px solid #e3e6ea',
                          background: heatColor(share, i === j),
                          color: share > 0.6 ? '#ffffff' : '#1f2933',
                          cursor: 'pointer',
                          fontSize: 13,
                          fontWeight: 600,
                        }}
                      >
                        {count}
                        <div style={{ fontSize: 10, fontWeight: 400 }}>{total > 0 ? `${Math.round(share * 100)}%` : ''}</div>
                      </button>
                    </td>
                  );
                })}
              </tr>
            );
          })}
        </tbody>
      </table>
      {selected ? (
        <CellImages metrics={metrics} runId={runId} trueLabel={selected.t} predLabel={selected.p} onClose={() => setSelected(null)} />
      ) : (
        <p style={{ fontSize: 12, color: '#5b6470', margin: 0 }}>Click a cell to see its images.</p>
      )}
    </div>
  );
}
