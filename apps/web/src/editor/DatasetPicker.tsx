'use client';

import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useTRPC } from '../client/trpc.ts';
import { Modal } from './Modal.tsx';

interface BrowseEntry {
  name: string;
  kind: 'dir' | 'file';
  imageCount?: number;
}

function parentOf(path: string): string {
  const parts = path.split('/').filter(Boolean);
  parts.pop();
  return parts.join('/');
}

/** Folder browser over DATASETS_ROOT (datasets.browse); picks a folder path relative to that root. */
export function DatasetPicker({
  initialPath,
  onPick,
  onCancel,
}: {
  initialPath: string;
  onPick: (path: string) => void;
  onCancel: () => void;
}) {
  const trpc = useTRPC();
  const [path, setPath] = useState(parentOf(initialPath));
  const [chosen, setChosen] = useState(initialPath);
  const browse = useQuery(trpc.datasets.browse.queryOptions({ path }));
  const entries = ((browse.data?.entries ?? []) as BrowseEntry[]).filter((e) => e.kind === 'dir');

  return (
    <Modal title="Choose a dataset folder" onClose={onCancel} testId="dataset-picker">
      <div className="dfe-browse-path">
        <button type="button" className="dfe-btn dfe-btn-small" disabled={path === ''} onClick={() => setPath(parentOf(path))}>
          ↑ Up
        </button>
        <code>datasets/{path}</code>
      </div>
      {browse.error ? <div className="dfe-field-error">{browse.error.message}</div> : null}
      <ul className="dfe-browse-list">
        {browse.isLoading ? <li className="dfe-muted">Loading…</li> : null}
        {!browse.isLoading && entries.length === 0 ? <li className="dfe-muted">No folders here.</li> : null}
        {entries.map((e) => {
          const full = path ? `${path}/${e.name}` : e.name;
          return (
            <li key={e.name} className={chosen === full ? 'is-chosen' : ''}>
              <button type="button" className="dfe-browse-item" onClick={() => setChosen(full)} onDoubleClick={() => setPath(full)}>
                <span>
                  <span className="dfe-folder" aria-hidden />
                  {e.name}
                </span>
                {e.imageCount !== undefined ? <span className="dfe-muted">{e.imageCount} images</span> : null}
              </button>
              <button type="button" className="dfe-btn dfe-btn-small" onClick={() => setPath(full)} title="Open folder">
                Open
              </button>
            </li>
          );
        })}
      </ul>
      <div className="dfe-modal-actions">
        <span className="dfe-muted">
          Selected: <code>{chosen || '—'}</code>
        </span>
        <button type="button" className="dfe-btn" onClick={onCancel}>
          Cancel
        </button>
        <button type="button" className="dfe-btn dfe-btn-primary" disabled={!chosen} onClick={() => onPick(chosen)}>
          Use this folder
        </button>
      </div>
    </Modal>
  );
}
