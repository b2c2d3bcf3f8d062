'use client';
/** Managing one deployed model: rename (admin), its stage in its product line (engineer: StageControls), delete (admin, confirmed). */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { type ComponentProps, useState } from 'react';
import { NEEDS_ADMIN, useMe } from '../../client/auth.ts';
import { useTRPC } from '../../client/trpc.ts';
import { Modal } from '../../editor/Modal.tsx';
import { type StagedModel, StageControls } from './StageControls.tsx';

interface ModelRow extends StagedModel {
  runId: string | null;
}

/** A small button only an admin may press: for anyone else it is disabled and its tooltip says who may. */
function AdminButton({ isAdmin, danger, title, ...button }: Omit<ComponentProps<'button'>, 'type' | 'className' | 'disabled'> & { isAdmin: boolean; danger?: boolean }) {
  return (
    <button
      type="button"
      className={danger ? 'df-btn df-btn-danger df-btn-sm' : 'df-btn df-btn-sm'}
      disabled={!isAdmin}
      title={isAdmin ? title : NEEDS_ADMIN}
      {...button}
    />
  );
}

export function ModelActions({ model, lineName }: { model: ModelRow; lineName?: string }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const router = useRouter();
  const { isAdmin } = useMe();
  const [renaming, setRenaming] = useState(false);
  const [name, setName] = useState(model.name);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const refresh = () => {
    void queryClient.invalidateQueries({ queryKey: trpc.models.get.queryKey({ id: model.id }) });
    void queryClient.invalidateQueries({ queryKey: trpc.models.list.queryKey() });
  };
  const rename = useMutation(
    trpc.models.rename.mutationOptions({
      onSuccess: () => {
        setRenaming(false);
        refresh();
      },
    }),
  );
  const remove = useMutation(
    trpc.models.delete.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.models.list.queryKey() });
        router.push('/models');
      },
    }),
  );
  const error = rename.error ?? remove.error;

  return (
    <div style={{ display: 'flex', gap: 8, alignItems: 'center', flexWrap: 'wrap' }} data-testid="model-actions">
      {renaming ? (
        <form
          style={{ display: 'flex', gap: 6 }}
          onSubmit={(e) => {
            e.preventDefault();
            rename.mutate({ id: model.id, name });
          }}
        >
          <input
            className="df-input"
            aria-label="Model name"
            data-testid="model-name-input"
            // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked to rename
            autoFocus
            maxLength={120}
            value={name}
            onChange={(e) => setName(e.target.value)}
            style={{ width: 260 }}
          />
          <button type="submit" className="df-btn df-btn-primary df-btn-sm" data-testid="model-name-save" disabled={rename.isPending || !name.trim()}>
            Save name
          </button>
          <button type="button" className="df-btn df-btn-sm" onClick={() => {
              setRenaming(false);
              setName(model.name);
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <AdminButton isAdmin={isAdmin} data-testid="model-rename" title="Rename this model" onClick={() => setRenaming(true)}>
          Rename
        </AdminButton>
      )}
      <StageControls model={model} lineName={lineName} />
      <AdminButton isAdmin={isAdmin} danger data-testid="model-delete" title="Delete this model and its files" onClick={() => setConfirmDelete(true)}>
        Delete…
      </AdminButton>
      {error ? (
        <span role="alert" className="df-error df-small">
          {error.message}
        </span>
      ) : null}
      {confirmDelete ? (
        <Modal title={`Delete model “${model.name}”?`} onClose={() => setConfirmDelete(false)} testId="model-delete-dialog">
          <p style={{ marginTop: 0 }}>
            This deletes the model and its exported files (the download stops working).
            {model.stage === 'production' ? ' It is the production model of its product line: the line will have none.' : ''} Its
            prediction log goes with it. The run that made it, and its report, stay.
          </p>
          <div className="dfe-modal-actions">
            <button type="button" className="dfe-btn" onClick={() => setConfirmDelete(false)}>
              Keep it
            </button>
            <button
              type="button"
              className="dfe-btn dfe-btn-danger"
              data-testid="model-delete-confirm"
              disabled={remove.isPending}
              onClick={() => remove.mutate({ id: model.id })}
            >
              Delete model
            </button>
          </div>
        </Modal>
      ) : null}
    </div>
  );
}
