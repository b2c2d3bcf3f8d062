'use client';
/** One row per graph node: state, progress and the latest message (or failure). */
import type { NodeStateInfo } from '../runState.ts';
import { formatDuration } from '../runState.ts';
import { StatusBadge } from './StatusBadge.tsx';

export function NodeStateList({
  nodes,
  graphNodes,
}: {
  nodes: Record<string, NodeStateInfo>;
  graphNodes: { id: string; type: string; label?: string }[];
}) {
  const ids: { id: string; type: string; label?: string }[] =
    graphNodes.length > 0 ? graphNodes : Object.entries(nodes).map(([id, n]) => ({ id, type: n.nodeType ?? '?' }));
  return (
    <table style={{ borderCollapse: 'collapse', fontSize: 12, width: '100%' }} data-testid="node-states">
      <tbody>
        {ids.map((g) => {
          const n = nodes[g.id];
          const state = n?.state ?? 'queued';
          return (
            <tr key={g.id} data-testid={`node-state-${g.id}`} data-state={state} style={{ borderBottom: '1px solid #eef0f3' }}>
              <td style={{ padding: '3px 6px', whiteSpace: 'nowrap' }}>
                <strong>{g.label || g.id}</strong> <span style={{ color: '#8a93a0' }}>{g.type}</span>
              </td>
              <td style={{ padding: '3px 6px' }}>
                <StatusBadge status={state} />
              </td>
              <td style={{ padding: '3px 6px', width: '40%' }}>
                {state === 'running' && n?.progress !== undefined ? (
                  <div style={{ height: 5, background: '#e8ebef', borderRadius: 3 }}>
                    <div style={{ width: `${Math.round(n.progress * 100)}%`, height: '100%', background: '#2563eb', borderRadius: 3 }} />
                  </div>
                ) : null}
              </td>
              <td style={{ padding: '3px 6px', color: state === 'failed' ? '#b91c1c' : '#5b6470' }}>
                {n?.message ?? (n?.durationMs !== undefined ? formatDuration(n.durationMs) : '')}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
