'use client';

import type { PipelineGraph } from '@defectflow/nodes';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { useTRPC } from '../../client/trpc.ts';
import { DatasetPicker } from '../DatasetPicker.tsx';
import { Modal } from '../Modal.tsx';

/** Params that usually differ from one product line to the next: asked for up front, pre-filled from the template. */
const PER_LINE_PARAMS: Record<string, { field: string; label: string }[]> = {
  dataset: [{ field: 'path', label: 'Dataset folder' }],
  deploy: [{ field: 'name', label: 'Model name' }],
};

interface OverrideRow {
  nodeId: string;
  nodeLabel: string;
  nodeType: string;
  field: string;
  label: string;
  initial: string;
}

function overrideRows(graph: PipelineGraph): OverrideRow[] {
  return graph.nodes.flatMap((n) =>
    (PER_LINE_PARAMS[n.type] ?? []).map(({ field, label }) => ({
      nodeId: n.id,
      nodeLabel: n.label ?? n.id,
      nodeType: n.type,
      field,
      label,
      initial: typeof n.params[field] === 'string' ? (n.params[field] as string) : '',
    })),
  );
}

/**
 * "New pipeline from template" for product line `productLineId`: choose any template (usually another
 * line's), a version, the new pipeline's name and the per-line params → templates.instantiate → editor.
 */
export function InstantiateDialog({
  productLineId,
  productLineName,
  onClose,
}: {
  productLineId: string;
  productLineName: string;
  onClose: () => void;
}) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const lines = useQuery(trpc.productLines.list.queryOptions());
  const templates = useQuery(trpc.templates.list.queryOptions());
  const [templateId, setTemplateId] = useState('');
  const [versionId, setVersionId] = useState('');
  const [name, setName] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [picking, setPicking] = useState<OverrideRow | null>(null);

  // Preselect the first template of another line: the usual reason to open this dialog.
  useEffect(() => {
    if (templateId || !templates.data?.length) return;
    const other = templates.data.find((t) => t.productLineId !== productLineId) ?? templates.data[0];
    if (other) setTemplateId(other.id);
  }, [templates.data, templateId, productLineId]);

  const versions = useQuery({ ...trpc.templates.versions.queryOptions({ templateId }), enabled: templateId !== '' });
  const sortedVersions = useMemo(() => [...(versions.data ?? [])].sort((a, b) => b.version - a.version), [versions.data]);
  const chosen = sortedVersions.find((v) => v.id === versionId) ?? sortedVersions[0];
  const rows = useMemo(() => (chosen ? overrideRows(chosen.graph) : []), [chosen]);
  const template = templates.data?.find((t) => t.id === templateId);

  // New template/version: pre-fill the name and the per-line params from it.
  useEffect(() => {
    if (!chosen || !template) return;
    setName((n) => n || `${template.name} — ${productLineName}`);
    setValues(Object.fromEntries(rows.map((r) => [`${r.nodeId}.${r.field}`, r.initial])));
  }, [chosen, template, rows, productLineName]);

  const instantiate = useMutation(trpc.templates.instantiate.mutationOptions());

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen) return;
    const overrides: Record<string, Record<string, unknown>> = {};
    for (const r of rows) {
      const v = values[`${r.nodeId}.${r.field}`] ?? r.initial;
      if (v !== r.initial) (overrides[r.nodeId] ??= {})[r.field] = v;
    }
    const { pipelineId } = await instantiate.mutateAsync({
      templateId,
      versionId: chosen.id,
      productLineId,
      name: name.trim(),
      overrides,
    });
    await queryClient.invalidateQueries({ queryKey: trpc.pipelines.pathKey() });
    router.push(`/editor?pipeline=${encodeURIComponent(pipelineId)}`);
  };

  const lineName = (id: string) => lines.data?.find((l) => l.id === id)?.name ?? id;

  return (
    <Modal title={`New pipeline for ${productLineName} from a template`} onClose={onClose} testId="instantiate-dialog" wide>
      <form onSubmit={submit} className="df-stack">
        <div className="df-row">
          <div style={{ flex: 2 }}>
            <label className="df-label" htmlFor="inst-template">
              Template
            </label>
            <select
              id="inst-template"
              className="df-input"
              value={templateId}
              onChange={(e) => {
                setTemplateId(e.target.value);
                setVersionId('');
                setName('');
              }}
            >
              {(templates.data ?? []).map((t) => (
                <option key={t.id} value={t.id}>
                  {lineName(t.productLineId)} / {t.name}
                </option>
              ))}
            </select>
          </div>
          <div style={{ flex: 1 }}>
            <label className="df-label" htmlFor="inst-version">
              Version
            </label>
            <select id="inst-version" className="df-input" value={chosen?.id ?? ''} onChange={(e) => setVersionId(e.target.value)}>
              {sortedVersions.map((v, i) => (
                <option key={v.id} value={v.id}>
                  v{v.version}
                  {i === 0 ? ' (latest)' : ''}
                  {v.message ? ` — ${v.message}` : ''}
                </option>
              ))}
            </select>
          </div>
        </div>
        <div>
          <label className="df-label" htmlFor="inst-name">
            Pipeline name
          </label>
          <input id="inst-name" className="df-input" value={name} onChange={(e) => setName(e.target.value)} required />
        </div>
        {rows.length > 0 ? (
          <div>
            <div className="df-section-title">Parameters for {productLineName}</div>
            <table className="df-table">
              <tbody>
                {rows.map((r) => {
                  const key = `${r.nodeId}.${r.field}`;
                  return (
                    <tr key={key}>
                      <td style={{ width: '38%' }}>
                        <label htmlFor={`inst-${key}`}>
                          {r.label} <span className="df-muted df-small">({r.nodeLabel})</span>
                        </label>
                      </td>
                      <td>
                        <div className="df-row">
                          <input
                            id={`inst-${key}`}
                            className="df-input"
                            data-testid={`override-${key}`}
                            value={values[key] ?? r.initial}
                            onChange={(e) => setValues((v) => ({ ...v, [key]: e.target.value }))}
                          />
                          {r.nodeType === 'dataset' ? (
                            <button type="button" className="df-btn df-btn-sm" onClick={() => setPicking(r)}>
                              Browse…
                            </button>
                          ) : null}
                        </div>
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        ) : null}
        {instantiate.error ? <div className="df-alert df-alert-error">{instantiate.error.message}</div> : null}
        {templates.data && templates.data.length === 0 ? (
          <div className="df-empty">No templates yet: save a pipeline as a template in the editor first.</div>
        ) : null}
        <div className="dfe-modal-actions">
          <button type="button" className="df-btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="df-btn df-btn-primary" disabled={!chosen || !name.trim() || instantiate.isPending}>
            Create pipeline
          </button>
        </div>
      </form>
      {picking ? (
        <DatasetPicker
          initialPath={values[`${picking.nodeId}.${picking.field}`] ?? picking.initial}
          onCancel={() => setPicking(null)}
          onPick={(path) => {
            setValues((v) => ({ ...v, [`${picking.nodeId}.${picking.field}`]: path }));
            setPicking(null);
          }}
        />
      ) : null}
    </Modal>
  );
}
