import { type PipelineGraph, PipelineGraphSchema } from '@defectflow/nodes';

/** Unsaved work kept in localStorage so a closed tab or a crash loses nothing. */
export interface Draft {
  graph: PipelineGraph;
  name: string;
  productLineId: string | null;
  savedAt: string;
}

const PREFIX = 'defectflow.editor.draft:';

/** One draft slot per document: a pipeline, a template, or the unsaved new pipeline. */
export function draftKey(doc: { pipelineId: string | null; templateId: string | null }): string {
  if (doc.pipelineId) return `pipeline:${doc.pipelineId}`;
  if (doc.templateId) return `template:${doc.templateId}`;
  return 'new';
}

function storage(): Storage | null {
  try {
    return typeof window === 'undefined' ? null : window.localStorage;
  } catch {
    return null; // storage disabled (privacy mode): drafts are a convenience, not a requirement
  }
}

export function writeDraft(key: string, draft: Draft): void {
  try {
    storage()?.setItem(PREFIX + key, JSON.stringify(draft));
  } catch {
    // Quota exceeded: keep editing; the next save still works.
  }
}

export function readDraft(key: string): Draft | null {
  const raw = storage()?.getItem(PREFIX + key);
  if (!raw) return null;
  try {
    const value = JSON.parse(raw) as Partial<Draft>;
    const graph = PipelineGraphSchema.safeParse(value.graph);
    if (!graph.success || typeof value.name !== 'string') return null;
    return {
      graph: graph.data,
      name: value.name,
      productLineId: typeof value.productLineId === 'string' ? value.productLineId : null,
      savedAt: typeof value.savedAt === 'string' ? value.savedAt : '',
    };
  } catch {
    return null;
  }
}

export function clearDraft(key: string): void {
  storage()?.removeItem(PREFIX + key);
}

const RUN_PREFIX = 'defectflow.editor.run:';

/** The run shown in this tab's run drawer, per document, so a reload mid-run keeps the live view. */
export function writeActiveRun(key: string, runId: string | null): void {
  try {
    if (typeof window === 'undefined') return;
    if (runId) window.sessionStorage.setItem(RUN_PREFIX + key, runId);
    else window.sessionStorage.removeItem(RUN_PREFIX + key);
  } catch {
    // Storage disabled: the run page still has the live view.
  }
}

export function readActiveRun(key: string): string | null {
  try {
    return typeof window === 'undefined' ? null : window.sessionStorage.getItem(RUN_PREFIX + key);
  } catch {
    return null;
  }
}
