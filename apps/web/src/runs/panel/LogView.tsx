'use client';
/** The run's log lines with a minimum-level filter; sticks to the bottom while new lines arrive. */
import { useEffect, useMemo, useRef, useState } from 'react';
import type { LogLine } from '../runState.ts';

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type Level = (typeof LEVELS)[number];
const COLORS: Record<Level, string> = { debug: '#8a93a0', info: '#1f2933', warn: '#b45309', error: '#b91c1c' };

export function LogView({ logs, startedTs }: { logs: LogLine[]; startedTs?: number }) {
  const [minLevel, setMinLevel] = useState<Level>('info');
  const box = useRef<HTMLDivElement>(null);
  const shown = useMemo(
    () => logs.filter((l) => LEVELS.indexOf(l.level) >= LEVELS.indexOf(minLevel)),
    [logs, minLevel],
  );
  useEffect(() => {
    const el = box.current;
    if (el && shown.length > 0 && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [shown.length]);
  return (
    <section data-testid="run-logs">
      <div style={{ display: 'flex', gap: 8, alignItems: 'center', marginBottom: 4 }}>
        <strong style={{ fontSize: 13 }}>Log</strong>
        <label style={{ fontSize: 12, display: 'inline-flex', alignItems: 'center', gap: 4 }}>
          level ≥{' '}
          <select className="df-select" style={{ width: 'auto' }} aria-label="log level" value={minLevel} onChange={(e) => setMinLevel(e.target.value as Level)}>
            {LEVELS.map((l) => (
              <option key={l} value={l}>
                {l} ({logs.filter((x) => x.level === l).length})
              </option>
            ))}
          </select>
        </label>
      </div>
      <div
        ref={box}
        style={{
          fontFamily: 'ui-monospace, SFMono-Regular, Menlo, monospace',
          fontSize: 12,
          maxHeight: 180,
          overflow: 'auto',
          background: '#f7f8fa',
          border: '1px solid #e3e6ea',
          borderRadius: 4,
          padding: 6,
        }}
      >
        {shown.length === 0 ? <span style={{ color: '#8a93a0' }}>No log lines at this level.</span> : null}
        {shown.map((l) => (
          <div key={l.seq} data-level={l.level} style={{ color: COLORS[l.level], whiteSpace: 'pre-wrap' }}>
            <span style={{ color: '#8a93a0' }}>{startedTs ? `+${((l.ts - startedTs) / 1000).toFixed(1)}s ` : ''}</span>
            {l.nodeId ? <span style={{ color: '#5b6470' }}>[{l.nodeId}] </span> : null}
            {l.message}
          </div>
        ))}
      </div>
    </section>
  );
}
