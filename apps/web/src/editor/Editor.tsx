'use client';

import { useQueryClient } from '@tanstack/react-query';
import { ReactFlowProvider } from '@xyflow/react';
import '@xyflow/react/dist/style.css';
import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { useCallback, useEffect, useRef, useState } from 'react';
import { useTRPC } from '../client/trpc.ts';
import { RunPanel } from '../runs/RunPanel.tsx';
import { useNodeStates } from '../runs/useRunEvents.ts';
import { Canvas } from './Canvas.tsx';
import { clearDraft, draftKey, readActiveRun, readDraft, writeActiveRun, writeDraft } from './draft.ts';
import './editor.css';
import { Inspector } from './Inspector.tsx';
import { Modal } from './Modal.tsx';
import { Palette } from './Palette.tsx';
import { RegistryProvider, useRegistryQuery } from './registry.tsx';
import { SHORTCUTS, useEditorShortcuts } from './shortcuts.ts';
import { useEditorStore } from './store.ts';
import { Toolbar } from './Toolbar.tsx';
import { EMPTY_DOC } from './types.ts';
import { useDocActions } from './useDocActions.ts';
import { VersionsDialog } from './VersionsDialog.tsx';
import { SweepDialog } from '../sweeps/SweepDialog.tsx';

/** What the URL asks the editor to open. */
function useDocRequest() {
  const params = useSearchParams();
  return {
    pipelineId: params.get('pipeline'),
    templateId: params.get('template'),
    versionId: params.get('version'),
    productLineId: params.get('productLine'),
  };
}

export function Editor() {
  return (
    <ReactFlowProvider>
      <EditorInner />
    </ReactFlowProvider>
  );
}

function EditorInner() {
  const { registry, isLoading, error } = useRegistryQuery();
  const request = useDocRequest();
  const router = useRouter();
  const loadState = useDocLoader(request);
  const [showHelp, setShowHelp] = useState(false);
  const [showVersions, setShowVersions] = useState(false);
  const [showSweep, setShowSweep] = useState(false);
  const store = useEditorStore;
  const doc = useEditorStore((s) => s.doc);
  const activeRunId = useEditorStore((s) => s.activeRunId);

  // After a save moved the document to a new URL, do not reload it from the server.
  const onDocMoved = useCallback(
    (url: string) => {
      loadState.skipNext.current = url.slice(url.indexOf('?'));
      router.replace(url);
    },
    [router, loadState.skipNext],
  );
  const actions = useDocActions(onDocMoved);

  useEditorShortcuts(
    {
      undo: () => store.getState().undo(),
      redo: () => store.getState().redo(),
      copy: () => {
        const n = store.getState().copySelected();
        if (n > 0) store.getState().notify('info', `Copied ${n} ${n === 1 ? 'node' : 'nodes'}.`);
      },
      paste: () => store.getState().paste(store.getState().pointer ?? undefined),
      duplicate: () => store.getState().duplicateSelected(),
      remove: () => store.getState().deleteSelected(),
      selectAll: () => store.getState().selectAll(),
      save: () => void actions.save(),
      toggleHelp: () => setShowHelp((v) => !v),
    },
    loadState.ready,
  );

  useUnsavedGuards(loadState.ready);
  useRunStateOverlay(activeRunId);

  if (error) return <div className="dfe-fatal">Could not load the node registry: {error.message}</div>;

  return (
    <RegistryProvider registry={registry}>
      <div className="dfe-editor" data-testid="editor" data-ready={loadState.ready && !isLoading ? 'true' : 'false'}>
        <Toolbar
          onSave={() => void actions.save()}
          onSaveTemplate={actions.saveTemplateVersion}
          onRun={() => void actions.run()}
          onSweep={() => setShowSweep(true)}
          onShowVersions={() => setShowVersions(true)}
          onShowHelp={() => setShowHelp(true)}
          saving={actions.saving}
          starting={actions.starting}
        />
        <div className="dfe-body">
          <Palette />
          <div className="dfe-centre">
            <Canvas />
            <NoticeBar />
            {loadState.error ? <div className="dfe-load-error">{loadState.error}</div> : null}
            {activeRunId ? <RunDrawer runId={activeRunId} /> : null}
          </div>
          <Inspector />
        </div>
      </div>
      {showHelp ? <ShortcutsHelp onClose={() => setShowHelp(false)} /> : null}
      {showSweep ? <SweepDialog onClose={() => setShowSweep(false)} /> : null}
      {showVersions && doc.templateId ? (
        <VersionsDialog
          templateId={doc.templateId}
          currentVersionId={doc.templateVersionId}
          editingTemplate={doc.pipelineId === null}
          onClose={() => setShowVersions(false)}
          onRestored={({ versionId, version, graph, appended }) => {
            const s = store.getState();
            // Loading a version is an edit of the canvas (undoable); for the template itself it is also saved now.
            s.importGraph(graph);
            s.setDoc({ templateVersionId: versionId });
            if (appended) {
              s.markSaved();
              onDocMoved(`/editor?template=${encodeURIComponent(doc.templateId ?? '')}&version=${encodeURIComponent(versionId)}`);
              s.notify('success', `Restored as version ${version}.`);
            } else {
              s.notify('info', `Loaded template version ${version} into this pipeline (not saved yet).`);
            }
            setShowVersions(false);
          }}
        />
      ) : null}
    </RegistryProvider>
  );
}

/** Loads the requested pipeline/template (or a new document) into the store, then any newer local draft. */
function useDocLoader(request: ReturnType<typeof useDocRequest>) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [ready, setReady] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const skipNext = useRef<string | null>(null);
  const search = useSearchParams().toString();

  // biome-ignore lint/correctness/useExhaustiveDependencies: the URL (search) is the request; reload only when it changes
  useEffect(() => {
    if (skipNext.current !== null && skipNext.current === `?${search}`) {
      skipNext.current = null;
      return;
    }
    let cancelled = false;
    const store = useEditorStore.getState();
    setReady(false);
    setError(null);
    (async () => {
      try {
        if (request.pipelineId) {
          const p = await queryClient.fetchQuery(trpc.pipelines.get.queryOptions({ id: request.pipelineId }));
          if (cancelled) return;
          store.loadGraph(p.graph, {
            name: p.name,
            productLineId: p.productLineId,
            pipelineId: p.id,
            templateId: p.templateId ?? null,
            templateVersionId: p.templateVersionId ?? null,
          });
        } else if (request.templateId) {
          const t = await queryClient.fetchQuery(trpc.templates.get.queryOptions({ id: request.templateId }));
          const v = request.versionId
            ? await queryClient.fetchQuery(trpc.templates.version.queryOptions({ versionId: request.versionId }))
            : t.latest;
          if (cancelled) return;
          store.loadGraph(v?.graph ?? { version: 1, nodes: [], edges: [] }, {
            name: t.template.name,
            productLineId: t.template.productLineId,
            pipelineId: null,
            templateId: t.template.id,
            templateVersionId: v?.id ?? null,
          });
        } else {
          store.loadGraph({ version: 1, nodes: [], edges: [] }, { ...EMPTY_DOC, productLineId: request.productLineId });
        }
        restoreDraft();
        // A reload mid-run reattaches the run this tab was watching (issue 20 item 4).
        store.setActiveRun(readActiveRun(draftKey(useEditorStore.getState().doc)));
        setReady(true);
        // A readable fit once the new nodes are measured (Canvas, fit.ts).
        if (useEditorStore.getState().nodes.length > 0) useEditorStore.getState().requestFit();
      } catch (err) {
        if (!cancelled) setError(`Could not open the document: ${err instanceof Error ? err.message : String(err)}`);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [search]);

  // Remember which run this tab watches, per document.
  useEffect(() => {
    if (!ready) return;
    return useEditorStore.subscribe((s, prev) => {
      if (s.activeRunId !== prev.activeRunId) writeActiveRun(draftKey(s.doc), s.activeRunId);
    });
  }, [ready]);

  // Keep a local draft of unsaved work; drop it once saved.
  useEffect(() => {
    if (!ready) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unsubscribe = useEditorStore.subscribe((s, prev) => {
      if (s.nodes === prev.nodes && s.edges === prev.edges && s.doc === prev.doc && s.dirty === prev.dirty) return;
      clearTimeout(timer);
      timer = setTimeout(() => {
        const now = useEditorStore.getState();
        if (!now.dirty) return;
        writeDraft(draftKey(now.doc), {
          graph: now.toGraph(),
          name: now.doc.name,
          productLineId: now.doc.productLineId,
          savedAt: new Date().toISOString(),
        });
      }, 300);
    });
    return () => {
      clearTimeout(timer);
      unsubscribe();
    };
  }, [ready]);

  return { ready, error, skipNext };
}

/** A draft newer than what the server has replaces the canvas (still unsaved), with a notice. */
function restoreDraft() {
  const store = useEditorStore.getState();
  const draft = readDraft(draftKey(store.doc));
  if (!draft) return;
  const current = JSON.stringify({ g: store.toGraph(), n: store.doc.name });
  if (JSON.stringify({ g: draft.graph, n: draft.name }) === current) return;
  store.loadGraph(draft.graph, { name: draft.name, productLineId: draft.productLineId ?? store.doc.productLineId }, { saved: false });
  const at = draft.savedAt ? new Date(draft.savedAt).toLocaleString() : 'earlier';
  store.notify('info', `Restored your unsaved changes from a local draft (${at}).`, 'discard-draft');
}

/** Dirty marker in the tab title and a warning before leaving with unsaved changes. */
function useUnsavedGuards(ready: boolean) {
  const dirty = useEditorStore((s) => s.dirty);
  const name = useEditorStore((s) => s.doc.name);
  useEffect(() => {
    document.title = `${dirty ? '● ' : ''}${name} — defectflow editor`;
  }, [dirty, name]);
  useEffect(() => {
    if (!ready) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      if (!useEditorStore.getState().dirty) return;
      e.preventDefault();
      e.returnValue = '';
    };
    window.addEventListener('beforeunload', onBeforeUnload);
    return () => window.removeEventListener('beforeunload', onBeforeUnload);
  }, [ready]);
}

/** Feeds the active run's node states onto the canvas. */
function useRunStateOverlay(runId: string | null) {
  const states = useNodeStates(runId);
  useEffect(() => {
    useEditorStore.getState().setRunStates(runId ? states : {});
  }, [states, runId]);
}

function NoticeBar() {
  const notice = useEditorStore((s) => s.notice);
  const dismiss = useEditorStore((s) => s.dismissNotice);
  const discardDraft = useDiscardDraft();
  useEffect(() => {
    if (!notice) return;
    const t = setTimeout(dismiss, notice.kind === 'error' ? 10_000 : 5_000);
    return () => clearTimeout(t);
  }, [notice, dismiss]);
  if (!notice) return null;
  return (
    <div className={`dfe-notice is-${notice.kind}`} role={notice.kind === 'error' ? 'alert' : 'status'} data-testid="notice">
      <span>{notice.text}</span>
      {notice.action === 'discard-draft' ? (
        <button type="button" className="dfe-btn dfe-btn-small" onClick={discardDraft}>
          Discard draft
        </button>
      ) : null}
      <button type="button" className="dfe-icon-btn" onClick={dismiss} aria-label="Dismiss">
        ×
      </button>
    </div>
  );
}

/** Throws away the local draft and reloads the saved document. */
function useDiscardDraft() {
  return () => {
    const { doc } = useEditorStore.getState();
    clearDraft(draftKey(doc));
    useEditorStore.getState().markSaved(); // so beforeunload does not ask
    window.location.reload();
  };
}

function RunDrawer({ runId }: { runId: string }) {
  const [open, setOpen] = useState(true);
  const setActiveRun = useEditorStore((s) => s.setActiveRun);
  return (
    <div className={`dfe-run-drawer ${open ? 'is-open' : ''}`} data-testid="run-drawer">
      <div className="dfe-run-drawer-head">
        <strong>Run</strong>
        <Link href={`/runs/${runId}`} className="dfe-muted" title={`Open run ${runId} on its own page`}>
          {runId.slice(0, 8)} ↗
        </Link>
        <span className="dfe-spacer" />
        <button type="button" className="dfe-btn dfe-btn-small" onClick={() => setOpen((o) => !o)}>
          {open ? 'Collapse' : 'Expand'}
        </button>
        <button type="button" className="dfe-icon-btn" onClick={() => setActiveRun(null)} aria-label="Close run panel">
          ×
        </button>
      </div>
      {open ? (
        <div className="dfe-run-drawer-body">
          <RunPanel runId={runId} hideNodes />
        </div>
      ) : null}
    </div>
  );
}

function ShortcutsHelp({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} testId="shortcuts-help">
      <table className="dfe-table dfe-shortcuts">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.keys}>
              <td>
                <kbd>{s.keys}</kbd>
              </td>
              <td>{s.action}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p className="dfe-muted dfe-small">Shortcuts are off while you type in a field (except Ctrl+S).</p>
    </Modal>
  );
}
