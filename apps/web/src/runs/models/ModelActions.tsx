'use client';
/** Managing one deployed model: rename (admin), make it its product line's active model (engineer), delete (admin, confirmed). */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRouter } from 'next/navigation';
import { type ComponentProps, useState } from 'react';
import { NEEDS_ADMIN, NEEDS_ENGINEER, useMe } from '../../client/auth.ts';
import { useTRPC } from '../../client/trpc.ts';
import { Modal } from '../../editor/Modal.tsx';

interface ModelRow {
  id: string;
  name: string;
  active: boolean;
  runId: string | null;
  productLineId: string | null;
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
  const { canEdit, isAdmin } = useMe();
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
  const setActive = useMutation(trpc.models.setActive.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(
    trpc.models.delete.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.models.list.queryKey() });
        router.push('/models');
      },
    }),
  );
  const error = rename.error ?? setActive.error ?? remove.error;

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
      {model.active ? (
        <span className="df-badge" data-testid="model-active" style={{ background: '#dcfce7', color: '#15803d' }} title="The model this product line uses now">
          active model{lineName ? ` of ${lineName}` : ''}
        </span>
      ) : null}
      <button
        type="button"
        className="df-btn df-btn-sm"
        data-testid="model-toggle-active"
        disabled={!canEdit || setActive.isPending}
        title={canEdit ? (model.active ? 'Stop using it as the active model' : 'Use this model for its product line (the current one stops)') : NEEDS_ENGINEER}
        onClick={() => setActive.mutate({ id: model.id, active: !model.active })}
      >
        {model.active ? 'Unmark active' : 'Mark active'}
      </button>
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
            {model.active ? ' It is the active model of its product line: the line will have none.' : ''} The run that made it, and
            its report, stay.
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
