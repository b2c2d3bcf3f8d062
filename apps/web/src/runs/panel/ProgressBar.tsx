/** A thin progress bar with a label; `value` 0..1. */
export function ProgressBar({ value, label, color = '#2563eb' }: { value: number; label?: string; color?: string }) {
  const pct = Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div data-testid="run-progress" data-value={pct} style={{ display: 'flex', alignItems: 'center', gap: 8 }}>
      <div
        role="progressbar"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct}
        style={{ flex: 1, height: 8, background: '#e8ebef', borderRadius: 4, overflow: 'hidden' }}
      >
        <div style={{ width: `${pct}%`, height: '100%', background: color, transition: 'width 300ms ease' }} />
      </div>
      <span style={{ fontSize: 12, minWidth: 120, color: '#3e4651' }}>
        {pct}%{label ? ` · ${label}` : ''}
      </span>
    </div>
  );
}
