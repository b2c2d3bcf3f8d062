'use client';
/**
 * The top of /runs/<id>: the run's name and notes (edited in place), where it came from (pipeline or template
 * version, product line, dataset versions), what it made (models), and Delete with a confirmation that lists
 * what goes with the run.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { NEEDS_ADMIN, NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useRunnerStatus } from '../client/runner-status.ts';
import { useTRPC } from '../client/trpc.ts';
import { Modal } from '../editor/Modal.tsx';
import { formatDateTime, shortId } from './format.ts';

interface RunRow {
  id: string;
  status: string;
  name?: string | null;
  notes?: string | null;
  createdAt?: string | Date;
  /** Set when the run is a trial (or the final run) of a sweep. */
  sweep?: { id: string; name: string; role: 'trial' | 'final'; index: number } | null;
  /** The runner that holds (held) the run, once it started. */
  runnerId?: string | null;
  backend?: string | null;
}

/**
 * Where the run is: its place in the queue while it waits (the shared queue of every runner in cluster mode), then
 * the runner that holds it.
 */
function RunPlacement({ run }: { run: RunRow }) {
  const status = useRunnerStatus();
  if (run.status === 'queued') {
    const index = status?.queue.indexOf(run.id) ?? -1;
    const runners = status?.mode === 'cluster' ? (status.runners ?? []).length : null;
    const where = status?.mode === 'cluster' ? 'in the shared queue' : 'in the runner\'s queue';
    return (
      <span data-testid="run-placement">
        {index >= 0 ? `queued: position ${index + 1} of ${status?.queue.length} ${where}` : 'queued'}
        {runners === 0 ? ' · no runner is connected: it starts when one joins' : ''}
      </span>
    );
  }
  if (!run.runnerId) return null;
  return (
    <span data-testid="run-placement">
      {run.status === 'running' ? 'running on' : 'ran on'} runner <code>{run.runnerId}</code>
      {run.backend ? ` (${run.backend})` : ''}
    </span>
  );
}

export function RunHeader({ run }: { run: RunRow }) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const links = useQuery(trpc.runs.links.queryOptions({ runId: run.id }));
  const { canEdit, isAdmin } = useMe();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const update = useMutation(
    trpc.runs.update.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ runId: run.id }) });
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
      },
    }),
  );
  const running = run.status === 'queued' || run.status === 'running';
  const l = links.data;

  return (
    <section className="df-card" data-testid="run-header" style={{ display: 'grid', gap: 8 }}>
      <div style={{ display: 'flex', alignItems: 'center', gap: 10, flexWrap: 'wrap' }}>
        <EditableName
          name={run.name ?? ''}
          placeholder={`Run ${shortId(run.id)}`}
          disabled={!canEdit}
          onSave={(name) => update.mutate({ runId: run.id, name })}
        />
        <code style={{ fontSize: 12, color: '#5b6470' }} title={run.id}>
          {shortId(run.id)}
        </code>
        <span style={{ flex: 1 }} />
        <button
          type="button"
          className="df-btn df-btn-danger df-btn-sm"
          data-testid="run-delete"
          disabled={!isAdmin || running}
          title={!isAdmin ? NEEDS_ADMIN : running ? 'Cancel the run before deleting it' : 'Delete this run and what it produced'}
          onClick={() => setConfirmDelete(true)}
        >
          Delete run…
        </button>
      </div>
      <div style={{ fontSize: 13, color: '#5b6470', display: 'flex', gap: 14, flexWrap: 'wrap' }} data-testid="run-links">
        {run.sweep ? (
          <span data-testid="run-sweep">
            {run.sweep.role === 'final' ? 'the best parameters, scored on the test split, ' : `trial ${run.sweep.index + 1} `}
            of sweep{' '}
            <Link data-testid="run-sweep-link" href={`/sweeps/${encodeURIComponent(run.sweep.id)}`}>
              {run.sweep.name}
            </Link>
          </span>
        ) : null}
        {run.createdAt ? <span>created {formatDateTime(run.createdAt)}</span> : null}
        <RunPlacement run={run} />
        {l?.productLine ? (
          <span>
            product line <Link href={`/product-lines/${encodeURIComponent(l.productLine.id)}`}>{l.productLine.name}</Link>
          </span>
        ) : null}
        {l?.pipeline ? (
          <span>
            pipeline{' '}
            <Link data-testid="run-pipeline-link" href={`/editor?pipeline=${encodeURIComponent(l.pipeline.id)}`}>
              {l.pipeline.name}
            </Link>
          </span>
        ) : null}
        {l?.template ? (
          <span>
            template{' '}
            <Link
              data-testid="run-template-link"
              href={`/editor?template=${encodeURIComponent(l.template.id)}${l.template.versionId ? `&version=${encodeURIComponent(l.template.versionId)}` : ''}`}
            >
              {l.template.name}
              {l.template.version !== null ? ` v${l.template.version}` : ''}
            </Link>
          </span>
        ) : null}
        {l && !l.pipeline && !l.template ? <span>run from an unsaved pipeline</span> : null}
        {(l?.datasets ?? []).map((d) => (
          <span key={d.nodeId}>
            dataset{' '}
            <Link
              data-testid="run-dataset-link"
              href={`/datasets/${encodeURIComponent(d.name)}${d.version !== null ? `?version=${d.version}` : ''}`}
            >
              {d.name}
              {d.version !== null ? ` v${d.version}` : ''}
            </Link>
          </span>
        ))}
        {(l?.models ?? []).map((m) => (
          <span key={m.id}>
            model{' '}
            <Link data-testid="run-model-link" href={`/models/${encodeURIComponent(m.id)}`}>
              {m.name}
            </Link>
            {` v${m.version}${m.stage === 'production' ? ' (production)' : ''}`}
          </span>
        ))}
        <Link href="/runs">all runs</Link>
      </div>
      <Notes
        notes={run.notes ?? ''}
        disabled={!canEdit}
        saving={update.isPending}
        onSave={(notes) => update.mutate({ runId: run.id, notes })}
      />
      {update.error ? (
        <p role="alert" className="df-error df-small" style={{ margin: 0 }}>
          Could not save: {update.error.message}
        </p>
      ) : null}
      {confirmDelete ? <DeleteRunDialog runId={run.id} label={run.name || shortId(run.id)} onClose={() => setConfirmDelete(false)} /> : null}
    </section>
  );
}

/** The run's name as a heading; click (or Rename) to edit, Enter or leaving the field saves, Escape cancels. */
function EditableName({
  name,
  placeholder,
  disabled,
  onSave,
}: {
  name: string;
  placeholder: string;
  disabled: boolean;
  onSave: (name: string) => void;
}) {
  const [editing, setEditing] = useState(false);
  const [value, setValue] = useState(name);
  useEffect(() => setValue(name), [name]);
  if (editing) {
    const commit = () => {
      setEditing(false);
      if (value.trim() !== name) onSave(value.trim());
    };
    return (
      <input
        className="df-input"
        data-testid="run-name-input"
        aria-label="Run name"
        // biome-ignore lint/a11y/noAutofocus: the field appears because the user asked to rename
        autoFocus
        maxLength={120}
        style={{ fontSize: 18, fontWeight: 600, width: 360 }}
        value={value}
        placeholder={placeholder}
        onChange={(e) => setValue(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
          if (e.key === 'Escape') {
            setValue(name);
            setEditing(false);
          }
        }}
      />
    );
  }
  return (
    <>
      <h1 style={{ fontSize: 20, margin: 0, color: name ? undefined : '#5b6470' }} data-testid="run-name">
        {name || placeholder}
      </h1>
      <button
        type="button"
        className="df-btn df-btn-sm"
        data-testid="run-rename"
        disabled={disabled}
        title={disabled ? NEEDS_ENGINEER : 'Give this run a name'}
        onClick={() => setEditing(true)}
      >
        {name ? 'Rename' : 'Name this run'}
      </button>
    </>
  );
}

function Notes({ notes, disabled, saving, onSave }: { notes: string; disabled: boolean; saving: boolean; onSave: (notes: string) => void }) {
  const [value, setValue] = useState(notes);
  useEffect(() => setValue(notes), [notes]);
  const changed = value !== notes;
  return (
    <div style={{ display: 'grid', gap: 4 }}>
      <label className="df-small df-muted" htmlFor="run-notes">
        Notes
      </label>
      <textarea
        id="run-notes"
        className="df-input"
        data-testid="run-notes"
        rows={2}
        maxLength={5000}
        disabled={disabled}
        title={disabled ? NEEDS_ENGINEER : undefined}
        placeholder="What this run tried, what to try next…"
        value={value}
        onChange={(e) => setValue(e.target.value)}
        style={{ fontFamily: 'inherit', fontSize: 13, minHeight: 44, height: 'auto', padding: 6, resize: 'vertical' }}
      />
      {changed ? (
        <div style={{ display: 'flex', gap: 6 }}>
          <button type="button" className="df-btn df-btn-primary df-btn-sm" data-testid="run-notes-save" disabled={saving} onClick={() => onSave(value)}>
            Save notes
          </button>
          <button type="button" className="df-btn df-btn-sm" onClick={() => setValue(notes)}>
            Discard
          </button>
        </div>
      ) : null}
    </div>
  );
}

/** Lists what goes with the run (events, folder, models), then deletes it and returns to the runs list. */
function DeleteRunDialog({ runId, label, onClose }: { runId: string; label: string; onClose: () => void }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const what = useQuery(trpc.runs.deletion.queryOptions({ runId }));
  const remove = useMutation(
    trpc.runs.delete.mutationOptions({
      onSuccess: () => {
        void queryClient.invalidateQueries({ queryKey: trpc.runs.list.queryKey() });
        void queryClient.invalidateQueries({ queryKey: trpc.models.list.queryKey() });
        router.push('/runs');
      },
    }),
  );
  const w = what.data;
  return (
    <Modal title={`Delete run “${label}”?`} onClose={onClose} testId="run-delete-dialog">
      {w ? (
        <>
          <p style={{ marginTop: 0 }}>This deletes, for good:</p>
          <ul data-testid="run-delete-list" style={{ margin: '0 0 8px', paddingLeft: 18 }}>
            <li>the run, its report and its {w.events} logged {w.events === 1 ? 'event' : 'events'} (log, curves)</li>
            {w.models.map((m) => (
              <li key={m.id}>
                the model <strong>{m.name}</strong> it deployed{m.stage === 'production' ? ' — the production model of its product line' : ''}, with its files and prediction log
              </li>
            ))}
          </ul>
          {w.models.length === 0 ? <p className="dfe-muted">It deployed no model.</p> : null}
        </>
      ) : (
        <p>{what.error ? `Could not check the run: ${what.error.message}` : 'Checking what goes with it…'}</p>
      )}
      {remove.error ? (
        <p role="alert" className="df-error">
          {remove.error.message}
        </p>
      ) : null}
      <div className="dfe-modal-actions">
        <button type="button" className="dfe-btn" onClick={onClose}>
          Keep it
        </button>
        <button
          type="button"
          className="dfe-btn dfe-btn-danger"
          data-testid="run-delete-confirm"
          disabled={!w || remove.isPending}
          onClick={() => remove.mutate({ runId })}
        >
          {remove.isPending ? 'Deleting…' : 'Delete run'}
        </button>
      </div>
    </Modal>
  );
}
