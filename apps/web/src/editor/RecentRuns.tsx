'use client';
/** The last runs of the document open in the editor (its pipeline, else its template): watch one in the drawer or open its page. */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect } from 'react';
import { useTRPC } from '../client/trpc.ts';
import { StatusBadge } from '../runs/panel/StatusBadge.tsx';
import { useEditorStore } from './store.ts';

const SHOWN = 5;

export function RecentRuns() {
  const trpc = useTRPC();
  const doc = useEditorStore((s) => s.doc);
  const activeRunId = useEditorStore((s) => s.activeRunId);
  const setActiveRun = useEditorStore((s) => s.setActiveRun);
  const filter = doc.pipelineId ? { pipelineId: doc.pipelineId } : doc.templateId ? { templateId: doc.templateId } : null;
  const runs = useQuery({
    ...trpc.runs.list.queryOptions({ ...filter, limit: SHOWN }),
    enabled: filter !== null,
    refetchInterval: (q) => ((q.state.data ?? []).some((r) => r.status === 'queued' || r.status === 'running') ? 3000 : 20_000),
  });
  // A run started (or picked) here must show up at once, not at the next 20 s poll.
  const queryClient = useQueryClient();
  useEffect(() => {
    if (activeRunId) void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
  }, [activeRunId, queryClient, trpc]);
  if (!filter) return null;
  const query = doc.pipelineId ? `pipeline=${encodeURIComponent(doc.pipelineId)}` : `template=${encodeURIComponent(doc.templateId ?? '')}`;
  return (
    <>
      <div className="dfe-section-title">Last runs</div>
      {runs.data && runs.data.length === 0 ? <p className="dfe-muted dfe-small">No runs of this {doc.pipelineId ? 'pipeline' : 'template'} yet.</p> : null}
      <ul className="dfe-recent-runs" data-testid="editor-recent-runs">
        {(runs.data ?? []).map((r) => (
          <li key={r.id} data-run-id={r.id} className={r.id === activeRunId ? 'is-active' : ''}>
            <StatusBadge status={r.status} />
            <Link href={`/runs/${r.id}`} title="Open the run's page">
              {r.name || r.id.slice(0, 8)}
            </Link>
            <span className="dfe-spacer" />
            {r.id === activeRunId ? (
              <span className="dfe-muted dfe-small">shown below</span>
            ) : (
              <button type="button" className="dfe-btn dfe-btn-small" onClick={() => setActiveRun(r.id)} title="Show this run in the panel below the canvas">
                Show
              </button>
            )}
          </li>
        ))}
      </ul>
      <Link className="dfe-small" href={`/runs?${query}`}>
        All runs of this {doc.pipelineId ? 'pipeline' : 'template'}
      </Link>
    </>
  );
}
