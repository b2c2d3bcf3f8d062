'use client';

import type { GraphError } from '@defectflow/nodes';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from '../client/trpc.ts';
import { clearDraft, draftKey } from './draft.ts';
import { queueInput, useQueueChoice } from './QueueOptions.tsx';
import { useEditorStore } from './store.ts';

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Document-level actions shared by the toolbar and the keyboard: save, save as template version, run. */
export function useDocActions(onDocMoved: (url: string) => void) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const savePipeline = useMutation(trpc.pipelines.save.mutationOptions());
  const saveTemplate = useMutation(trpc.templates.save.mutationOptions());
  const startRun = useMutation(trpc.runs.start.mutationOptions());

  const requireProductLine = (): string | null => {
    const { doc, notify } = useEditorStore.getState();
    if (!doc.productLineId) notify('error', 'Choose a product line (top left) before saving.');
    return doc.productLineId;
  };

  /** Save as pipeline (creates it the first time). */
  const save = async (): Promise<boolean> => {
    const productLineId = requireProductLine();
    if (!productLineId) return false;
    const s = useEditorStore.getState();
    const oldKey = draftKey(s.doc);
    try {
      const { id } = await savePipeline.mutateAsync({
        id: s.doc.pipelineId ?? undefined,
        productLineId,
        name: s.doc.name,
        graph: s.toGraph(),
        templateId: s.doc.templateId,
        templateVersionId: s.doc.templateVersionId,
      });
      s.setDoc({ pipelineId: id });
      useEditorStore.getState().markSaved();
      clearDraft(oldKey);
      clearDraft(draftKey({ pipelineId: id, templateId: null }));
      s.notify('success', `Saved pipeline “${s.doc.name}”.`);
      await queryClient.invalidateQueries({ queryKey: trpc.pipelines.list.queryKey() });
      if (id !== s.doc.pipelineId) onDocMoved(`/editor?pipeline=${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      s.notify('error', `Save failed: ${messageOf(err)}`);
      return false;
    }
  };

  /** Appends a version to the document's template (creating the template the first time). */
  const saveTemplateVersion = async (message: string): Promise<boolean> => {
    const productLineId = requireProductLine();
    if (!productLineId) return false;
    const s = useEditorStore.getState();
    const editingTemplate = s.doc.pipelineId === null;
    const oldKey = draftKey(s.doc);
    try {
      // A pipeline made from another line's template starts a template of its own line instead of
      // adding versions to the other line's template.
      let templateId = s.doc.templateId ?? undefined;
      if (templateId && !editingTemplate) {
        const linked = await queryClient.fetchQuery(trpc.templates.get.queryOptions({ id: templateId }));
        if (linked.template.productLineId !== productLineId) templateId = undefined;
      }
      const saved = await saveTemplate.mutateAsync({
        templateId,
        productLineId,
        name: s.doc.name,
        graph: s.toGraph(),
        message,
      });
      s.setDoc({ templateId: saved.templateId, templateVersionId: saved.versionId });
      if (editingTemplate) {
        useEditorStore.getState().markSaved();
        clearDraft(oldKey);
        clearDraft(draftKey({ pipelineId: null, templateId: saved.templateId }));
      }
      s.notify('success', `Saved template “${s.doc.name}” version ${saved.version}.`);
      await queryClient.invalidateQueries({ queryKey: trpc.templates.pathKey() });
      if (editingTemplate) {
        onDocMoved(`/editor?template=${encodeURIComponent(saved.templateId)}&version=${encodeURIComponent(saved.versionId)}`);
      }
      return true;
    } catch (err) {
      s.notify('error', `Saving the template failed: ${messageOf(err)}`);
      return false;
    }
  };

  /** Starts a run of the graph as it is on the canvas; per-node errors from the server go onto the nodes. */
  const run = async (): Promise<string | null> => {
    const s = useEditorStore.getState();
    try {
      const result = await startRun.mutateAsync({
        graph: s.toGraph(),
        pipelineId: s.doc.pipelineId ?? undefined,
        productLineId: s.doc.productLineId ?? undefined,
        // Runs of the template itself (or of a pipeline linked to one) are listed under it.
        templateId: s.doc.templateId ?? undefined,
        templateVersionId: s.doc.templateVersionId ?? undefined,
        // Cluster mode: priority, a GPU runner, one retry (the Queue popover next to Run).
        ...queueInput(useQueueChoice.getState(), queryClient.getQueryData(trpc.runner.status.queryKey())?.mode === 'cluster'),
      });
      if (!result.ok) {
        s.setRunErrors(result.errors as GraphError[]);
        s.notify('error', `The run was refused: ${(result.errors as GraphError[]).map((e) => e.message).join(' ')}`);
        return null;
      }
      s.setActiveRun(result.runId);
      s.notify('info', `Run ${result.runId} started.`);
      return result.runId;
    } catch (err) {
      s.notify('error', `Could not start the run: ${messageOf(err)}`);
      return null;
    }
  };

  return {
    save,
    saveTemplateVersion,
    run,
    saving: savePipeline.isPending || saveTemplate.isPending,
    starting: startRun.isPending,
  };
}
