'use client';

import type { PipelineGraph } from '@defectflow/nodes';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import { Modal } from './Modal.tsx';
import { formatValue } from './schema-form.ts';

interface VersionRow {
  id: string;
  version: number;
  message: string | null;
  createdAt: string | Date;
  graph: PipelineGraph;
}

function when(value: string | Date): string {
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

/**
 * The template's versions: pick two to diff (templates.diff), or restore one — which appends a new
 * version equal to it (history is never rewritten) and loads it into the editor.
 */
export function VersionsDialog({
  templateId,
  currentVersionId,
  editingTemplate,
  onClose,
  onRestored,
}: {
  templateId: string;
  currentVersionId: string | null;
  /** Editing the template itself: restoring appends a version. Editing a pipeline: it only loads the graph. */
  editingTemplate: boolean;
  onClose: () => void;
  onRestored: (restored: { versionId: string; version: number; graph: PipelineGraph; appended: boolean }) => void;
}) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const versions = useQuery(trpc.templates.versions.queryOptions({ templateId }));
  const rows = ((versions.data ?? []) as VersionRow[]).slice().sort((a, b) => b.version - a.version);
  const [picked, setPicked] = useState<string[]>([]);
  const [from, to] = [...picked].sort(
    (a, b) => (rows.find((r) => r.id === a)?.version ?? 0) - (rows.find((r) => r.id === b)?.version ?? 0),
  );
  const diff = useQuery({
    ...trpc.templates.diff.queryOptions({ fromVersionId: from ?? '', toVersionId: to ?? '' }),
    enabled: from !== undefined && to !== undefined,
  });
  const restore = useMutation(trpc.templates.restore.mutationOptions());
  const { canEdit } = useMe();
  // Restoring a template appends a version (engineer); loading into a pipeline only changes the canvas.
  const restoreBlocked = editingTemplate && !canEdit;
  const [error, setError] = useState<string | null>(null);

  const toggle = (id: string) =>
    setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p, id].slice(-2)));

  const doRestore = async (row: VersionRow) => {
    setError(null);
    if (!editingTemplate) {
      onRestored({ versionId: row.id, version: row.version, graph: row.graph, appended: false });
      return;
    }
    try {
      const restored = await restore.mutateAsync({ templateId, versionId: row.id, message: `Restored version ${row.version}` });
      await queryClient.invalidateQueries({ queryKey: trpc.templates.pathKey() });
      onRestored({ versionId: restored.versionId, version: restored.version, graph: row.graph, appended: true });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  return (
    <Modal title="Template versions" onClose={onClose} testId="versions-dialog" wide>
      {versions.isLoading ? <p className="dfe-muted">Loading…</p> : null}
      {error ? <div className="dfe-field-error">{error}</div> : null}
      <table className="dfe-table">
        <thead>
          <tr>
            <th title="Pick two to compare">Diff</th>
            <th>Version</th>
            <th>Message</th>
            <th>Saved</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.id} data-testid={`version-row-${r.version}`} className={r.id === currentVersionId ? 'is-current' : ''}>
              <td>
                <input
                  type="checkbox"
                  aria-label={`Compare version ${r.version}`}
                  checked={picked.includes(r.id)}
                  onChange={() => toggle(r.id)}
                />
              </td>
              <td>
                v{r.version}
                {r.id === currentVersionId ? <span className="dfe-tag">open</span> : null}
              </td>
              <td>{r.message || <span className="dfe-muted">—</span>}</td>
              <td className="dfe-muted">{when(r.createdAt)}</td>
              <td>
                <button
                  type="button"
                  className="dfe-btn dfe-btn-small"
                  disabled={restore.isPending || restoreBlocked}
                  onClick={() => doRestore(r)}
                  title={
                    restoreBlocked ? NEEDS_ENGINEER : editingTemplate ? 'Append a new version equal to this one' : 'Load this version into the pipeline'
                  }
                >
                  {editingTemplate ? 'Restore' : 'Load'}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="dfe-diff" data-testid="version-diff">
        {from === undefined || to === undefined ? (
          <p className="dfe-muted">Tick two versions to see what changed between them.</p>
        ) : diff.isLoading ? (
          <p className="dfe-muted">Comparing…</p>
        ) : diff.data ? (
          <DiffView diff={diff.data} />
        ) : diff.error ? (
          <div className="dfe-field-error">{diff.error.message}</div>
        ) : null}
      </div>
    </Modal>
  );
}

interface DiffData {
  nodesAdded: { id: string; type: string }[];
  nodesRemoved: { id: string; type: string }[];
  paramsChanged: { nodeId: string; field: string; from?: unknown; to?: unknown }[];
  edgesAdded: { source: string; target: string; sourceHandle: string; targetHandle: string }[];
  edgesRemoved: { source: string; target: string; sourceHandle: string; targetHandle: string }[];
}

function DiffView({ diff }: { diff: DiffData }) {
  const empty =
    diff.nodesAdded.length + diff.nodesRemoved.length + diff.paramsChanged.length + diff.edgesAdded.length + diff.edgesRemoved.length ===
    0;
  if (empty) return <p className="dfe-muted">No differences.</p>;
  return (
    <ul className="dfe-diff-list">
      {diff.nodesAdded.map((n) => (
        <li key={`na-${n.id}`} className="is-added">
          + node {n.id} ({n.type})
        </li>
      ))}
      {diff.nodesRemoved.map((n) => (
        <li key={`nr-${n.id}`} className="is-removed">
          − node {n.id} ({n.type})
        </li>
      ))}
      {diff.paramsChanged.map((p) => (
        <li key={`p-${p.nodeId}-${p.field}`} className="is-changed">
          {p.nodeId}.{p.field}: <code>{formatValue(p.from)}</code> → <code>{formatValue(p.to)}</code>
        </li>
      ))}
      {diff.edgesAdded.map((e) => (
        <li key={`ea-${e.source}-${e.sourceHandle}-${e.target}-${e.targetHandle}`} className="is-added">
          + edge {e.source}.{e.sourceHandle} → {e.target}.{e.targetHandle}
        </li>
      ))}
      {diff.edgesRemoved.map((e) => (
        <li key={`er-${e.source}-${e.sourceHandle}-${e.target}-${e.targetHandle}`} className="is-removed">
          − edge {e.source}.{e.sourceHandle} → {e.target}.{e.targetHandle}
        </li>
      ))}
    </ul>
  );
}
