'use client';

import { parseGraphJson } from '@defectflow/nodes';
import { useQuery } from '@tanstack/react-query';
import { type ChangeEvent, useRef, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import { Modal } from './Modal.tsx';
import { QueueOptions } from './QueueOptions.tsx';
import { useDismiss } from './useDismiss.ts';
import { useEditorStore } from './store.ts';

export interface ToolbarProps {
  onSave: () => void;
  onSaveTemplate: (message: string) => Promise<boolean>;
  onRun: () => void;
  /** Opens the sweep dialog (same blockers as Run). */
  onSweep: () => void;
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

export function Toolbar({ onSave, onSaveTemplate, onRun, onSweep, onShowVersions, onShowHelp, saving, starting }: ToolbarProps) {
  const trpc = useTRPC();
  const productLines = useQuery(trpc.productLines.list.queryOptions());
  const doc = useEditorStore((s) => s.doc);
  const dirty = useEditorStore((s) => s.dirty);
  const canUndo = useEditorStore((s) => s.past.length > 0);
  const canRedo = useEditorStore((s) => s.future.length > 0);
  const errorCount = useEditorStore((s) => s.validation.errors.length);
  const firstError = useEditorStore((s) => s.validation.errors[0]?.message);
  const { setDoc, undo, redo, autoLayout, toGraph, importGraph, notify, requestFit } = useEditorStore.getState();
  const fileInput = useRef<HTMLInputElement>(null);
  const [askMessage, setAskMessage] = useState(false);
  const { canEdit } = useMe();
  // A viewer may explore and export, not save or run: say why instead of failing on click.
  const blocker = canEdit ? runBlocker(errorCount, firstError) : NEEDS_ENGINEER;

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
    requestFit();
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
        ) : doc.pipelineId === null && doc.templateId === null ? (
          // A new document exists only in this tab until its first save.
          <span className="dfe-dirty" title="This pipeline has never been saved" data-testid="never-saved-marker">
            not saved yet
          </span>
        ) : (
          <span className="dfe-saved" data-testid="saved-marker">
            saved
          </span>
        )}
        {doc.templateId ? <span className="dfe-tag" title="Linked template">template</span> : null}
        {canEdit ? null : (
          <span className="dfe-tag dfe-tag-muted" title={`Saving and running ${NEEDS_ENGINEER}`} data-testid="view-only">
            view only
          </span>
        )}
      </div>

      <div className="dfe-tools">
        <div className="dfe-group">
          <button type="button" className="dfe-btn dfe-btn-icon" onClick={undo} disabled={!canUndo} title="Undo (Ctrl+Z)" aria-label="Undo">
            ↶
          </button>
          <button type="button" className="dfe-btn dfe-btn-icon" onClick={redo} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo">
            ↷
          </button>
        </div>
        <div className="dfe-group">
          <button
            type="button"
            className="dfe-btn"
            onClick={() => {
              autoLayout();
              requestFit(); // once the new positions render
            }}
            title="Arrange nodes left to right"
          >
            Auto-layout
          </button>
          <button
            type="button"
            className="dfe-btn"
            onClick={requestFit}
            title="Fit the graph at a zoom where its text stays readable (the ⛶ button on the canvas shows all of it)"
          >
            Fit view
          </button>
        </div>
        <div className="dfe-group">
          {/* Less frequent actions behind one button, so the toolbar stays on one line at 1440 px. */}
          <MoreMenu
            items={[
              { label: 'Import JSON', title: 'Load a PipelineGraph v1 JSON file', onSelect: () => fileInput.current?.click() },
              { label: 'Export JSON', title: 'Download the graph (the format the CLI runs)', onSelect: exportJson },
            ]}
          />
          <input
            ref={fileInput}
            type="file"
            accept="application/json,.json"
            hidden
            onChange={importJson}
            data-testid="import-input"
          />
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
          <button
            type="button"
            className="dfe-btn"
            onClick={() => setAskMessage(true)}
            disabled={saving || !canEdit}
            title={canEdit ? undefined : NEEDS_ENGINEER}
          >
            Save as template version
          </button>
          <button
            type="button"
            className="dfe-btn"
            onClick={onSave}
            disabled={saving || !canEdit}
            title={canEdit ? 'Save pipeline (Ctrl+S)' : NEEDS_ENGINEER}
          >
            Save
          </button>
        </div>
        <div className="dfe-group dfe-run-group">
          <button
            type="button"
            className="dfe-btn"
            onClick={onSweep}
            disabled={blocker !== null}
            title={blocker ?? 'Search hyperparameters: many runs of this pipeline with other values, ranked on the validation split'}
            data-testid="sweep-button"
          >
            Sweep…
          </button>
          <QueueOptions />
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
          {blocker && canEdit ? (
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

interface MenuItem {
  label: string;
  title: string;
  onSelect: () => void;
}

/** "⋯" button with a small menu; closes on a choice, Escape or a click elsewhere. */
function MoreMenu({ items }: { items: MenuItem[] }) {
  const [open, setOpen] = useState(false);
  const root = useRef<HTMLDivElement>(null);
  useDismiss(open, () => setOpen(false), root);
  return (
    <div className="dfe-menu" ref={root}>
      <button
        type="button"
        className="dfe-btn"
        aria-haspopup="menu"
        aria-expanded={open}
        aria-label="Import or export JSON"
        title="Import / export JSON"
        onClick={() => setOpen((o) => !o)}
      >
        JSON ▾
      </button>
      {open ? (
        <div className="dfe-menu-list" role="menu">
          {items.map((item) => (
            <button
              key={item.label}
              type="button"
              role="menuitem"
              className="dfe-menu-item"
              title={item.title}
              onClick={() => {
                setOpen(false);
                item.onSelect();
              }}
            >
              {item.label}
            </button>
          ))}
        </div>
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
