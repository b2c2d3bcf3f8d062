'use client';

import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, type ReactNode, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../../client/auth.ts';
import { useTRPC } from '../../client/trpc.ts';

/** Shows `children` (the name) with a Rename button that swaps in an inline form. */
export function RenameProductLine({ line, children }: { line: { id: string; name: string }; children: ReactNode }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(line.name);
  const { canEdit } = useMe();
  const rename = useMutation(
    trpc.productLines.rename.mutationOptions({
      onSuccess: () => {
        setEditing(false);
        void queryClient.invalidateQueries({ queryKey: trpc.productLines.pathKey() });
      },
    }),
  );
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (name.trim() && name.trim() !== line.name) rename.mutate({ id: line.id, name: name.trim() });
    else setEditing(false);
  };
  if (!editing) {
    return (
      <span className="df-row">
        {children}
        <button
          type="button"
          className="df-linkish df-small"
          disabled={!canEdit}
          title={canEdit ? undefined : NEEDS_ENGINEER}
          onClick={() => {
            setName(line.name);
            setEditing(true);
          }}
        >
          Rename
        </button>
      </span>
    );
  }
  return (
    <form className="df-row" onSubmit={submit} aria-label={`Rename ${line.name}`}>
      <input
        className="df-input"
        style={{ maxWidth: 260 }}
        aria-label="New name"
        // biome-ignore lint/a11y/noAutofocus: the user just asked to rename
        autoFocus
        value={name}
        onChange={(e) => setName(e.target.value)}
        onKeyDown={(e) => e.key === 'Escape' && setEditing(false)}
      />
      <button type="submit" className="df-btn df-btn-sm" disabled={rename.isPending}>
        Save
      </button>
      <button type="button" className="df-btn df-btn-sm" onClick={() => setEditing(false)}>
        Cancel
      </button>
      {rename.error ? <span className="df-error df-small">{rename.error.message}</span> : null}
    </form>
  );
}
