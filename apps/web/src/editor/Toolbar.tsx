'use client';

import { parseGraphJson } from '@defectflow/nodes';
import { useQuery } from '@tanstack/react-query';
import { useReactFlow } from '@xyflow/react';
import { type ChangeEvent, useRef, useState } from 'react';
import { useTRPC } from '../client/trpc.ts';
import { Modal } from './Modal.tsx';
import { useEditorStore } from './store.ts';

export interface ToolbarProps {
  onSave: () => void;
  onSaveTemplate: (message: string) => Promise<boolean>;
  onRun: () => void;
  onShowVersions: () => void;
  onShowHelp: () => void;
  saving: boolean;
  starting: boolean;
}

function fileSlug(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'pipeline';
}

/** Why Run is disabled, or null when the graph can run. */
function runBlocker(errorCount: number, firstError: string | undefined): string | null {
  if (errorCount === 0) return null;
  return errorCount === 1 ? `Fix 1 problem first: ${firstError}` : `Fix ${errorCount} problems first (first: ${firstError})`;
}

export function Toolbar({ onSave, onSaveTemplate, onRun, onShowVersions, onShowHelp, saving, starting }: ToolbarProps) {
  const trpc = useTRPC();
  const productLines = useQuery(trpc.productLines.list.queryOptions());
  const doc = useEditorStore((s) => s.doc);
  const dirty = useEditorStore((s) => s.dirty);
  const canUndo = useEditorStore((s) => s.past.length > 0);
  const canRedo = useEditorStore((s) => s.future.length > 0);
  const errorCount = useEditorStore((s) => s.validation.errors.length);
  const firstError = useEditorStore((s) => s.validation.errors[0]?.message);
  const { setDoc, undo, redo, autoLayout, toGraph, importGraph, notify } = useEditorStore.getState();
  const { fitView } = useReactFlow();
  const fileInput = useRef<HTMLInputElement>(null);
  const [askMessage, setAskMessage] = useState(false);
  const blocker = runBlocker(errorCount, firstError);

  const exportJson = () => {
    const blob = new Blob([`${JSON.stringify(toGraph(), null, 2)}\n`], { type: 'application/json' });
    const url = URL.createObjectURL(blob);
    const a = document.createElement('a');
    a.href = url;
    a.download = `${fileSlug(doc.name)}.pipeline.json`;
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  };

  const importJson = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = '';
    if (!file) return;
    const parsed = parseGraphJson(await file.text());
    if (!parsed.ok) {
      notify('error', `Import failed — ${file.name}: ${parsed.error.message}`);
      return;
    }
    importGraph(parsed.graph);
    notify('success', `Imported ${file.name}: ${parsed.graph.nodes.length} nodes, ${parsed.graph.edges.length} connections.`);
    void fitView({ padding: 0.1, maxZoom: 1 });
  };

  const lines = (productLines.data ?? []) as { id: string; name: string }[];

  return (
    <div className="dfe-toolbar" role="toolbar" aria-label="Editor toolbar">
      <div className="dfe-doc">
        <select
          className="dfe-input dfe-pl-select"
          aria-label="Product line"
          value={doc.productLineId ?? ''}
          onChange={(e) => setDoc({ productLineId: e.target.value || null })}
        >
          <option value="">Product line…</option>
          {lines.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name}
            </option>
          ))}
        </select>
        <span className="dfe-sep">/</span>
        <input
          className="dfe-input dfe-name"
          aria-label="Pipeline name"
          value={doc.name}
          onChange={(e) => setDoc({ name: e.target.value })}
        />
        {dirty ? (
          <span className="dfe-dirty" title="Unsaved changes" data-testid="dirty-marker">
            ● unsaved
          </span>
        ) : (
          <span className="dfe-saved" data-testid="saved-marker">
            saved
          </span>
        )}
        {doc.templateId ? <span className="dfe-tag" title="Linked template">template</span> : null}
      </div>

      <div className="dfe-tools">
        <div className="dfe-group">
          <button type="button" className="dfe-btn" onClick={undo} disabled={!canUndo} title="Undo (Ctrl+Z)">
            ↶ Undo
          </button>
          <button type="button" className="dfe-btn" onClick={redo} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)">
            ↷ Redo
          </button>
        </div>
        <div className="dfe-group">
          <button
            type="button"
            className="dfe-btn"
            onClick={() => {
              autoLayout();
              void fitView({ padding: 0.1, maxZoom: 1 }); // queued by React Flow until the new positions render
            }}
            title="Arrange nodes left to right"
          >
            Auto-layout
          </button>
          <button type="button" className="dfe-btn" onClick={() => void fitView({ padding: 0.1, maxZoom: 1, duration: 200 })}>
            Fit view
          </button>
        </div>
        <div className="dfe-group">
          <button type="button" className="dfe-btn" onClick={() => fileInput.current?.click()} title="Load a PipelineGraph v1 JSON file">
            Import JSON
          </button>
          <input
            ref={fileInput}
            type="file"
            accept="application/json,.json"
            hidden
            onChange={importJson}
            data-testid="import-input"
          />
          <button type="button" className="dfe-btn" onClick={exportJson} title="Download the graph (the format the CLI runs)">
            Export JSON
          </button>
        </div>
        <div className="dfe-group">
          <button
            type="button"
            className="dfe-btn"
            onClick={onShowVersions}
            disabled={!doc.templateId}
            title={doc.templateId ? 'Template versions: diff and restore' : 'Save as a template first'}
          >
            Versions
          </button>
          <button type="button" className="dfe-btn" onClick={() => setAskMessage(true)} disabled={saving}>
            Save as template version
          </button>
          <button type="button" className="dfe-btn" onClick={onSave} disabled={saving} title="Save pipeline (Ctrl+S)">
            Save
          </button>
        </div>
        <div className="dfe-group dfe-run-group">
          <button
            type="button"
            className="dfe-btn dfe-btn-run"
            onClick={onRun}
            disabled={blocker !== null || starting}
            title={blocker ?? 'Run this pipeline on the runner'}
            data-testid="run-button"
          >
            ▶ Run
          </button>
          {blocker ? (
            <span className="dfe-run-blocker" data-testid="run-blocker" title={blocker}>
              {errorCount} {errorCount === 1 ? 'problem' : 'problems'}
            </span>
          ) : null}
        </div>
        <button type="button" className="dfe-icon-btn dfe-help-btn" onClick={onShowHelp} title="Keyboard shortcuts (?)">
          ?
        </button>
      </div>

      {askMessage ? (
        <TemplateMessageDialog
          name={doc.name}
          existing={doc.templateId !== null}
          onCancel={() => setAskMessage(false)}
          onSave={async (message) => {
            if (await onSaveTemplate(message)) setAskMessage(false);
          }}
        />
      ) : null}
    </div>
  );
}

function TemplateMessageDialog({
  name,
  existing,
  onCancel,
  onSave,
}: {
  name: string;
  existing: boolean;
  onCancel: () => void;
  onSave: (message: string) => void;
}) {
  const [message, setMessage] = useState('');
  return (
    <Modal title={existing ? `New version of template “${name}”` : `Save “${name}” as a template`} onClose={onCancel} testId="template-dialog">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSave(message.trim());
        }}
      >
        <label className="dfe-label" htmlFor="dfe-template-message">
          What changed?
        </label>
        <textarea
          id="dfe-template-message"
          className="dfe-input"
          rows={3}
          // biome-ignore lint/a11y/noAutofocus: the dialog exists to ask this one question
          autoFocus
          placeholder={existing ? 'e.g. fewer epochs, stronger augmentation' : 'e.g. first version'}
          value={message}
          onChange={(e) => setMessage(e.target.value)}
        />
        <div className="dfe-modal-actions">
          <button type="button" className="dfe-btn" onClick={onCancel}>
            Cancel
          </button>
          <button type="submit" className="dfe-btn dfe-btn-primary">
            Save version
          </button>
        </div>
      </form>
    </Modal>
  );
}
