'use client';
/** /datasets: the datasets under DATASETS_ROOT and the upload form (zip or folder, with a progress bar). */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import {
  type FolderFile,
  filesFromDrop,
  nameAfterChoosing,
  type UploadProgress,
  type UploadedDataset,
  uploadFolder,
  uploadZip,
} from './upload-client.ts';

function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

type Source = { kind: 'zip'; file: File } | { kind: 'folder'; files: FolderFile[]; label: string };

export function UploadForm({ onUploaded }: { onUploaded: (d: UploadedDataset) => void }) {
  const [source, setSource] = useState<Source | null>(null);
  const [name, setName] = useState('');
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<UploadedDataset | null>(null);
  const [over, setOver] = useState(false);
  const { canEdit } = useMe();
  const busy = progress !== null && !error && !done;

  const choose = (s: Source, label: string) => {
    setName(nameAfterChoosing(name, source !== null, label));
    setSource(s);
    setError(null);
    setDone(null);
    setProgress(null);
  };
  const pickFolder = (list: FileList | null) => {
    if (!list || list.length === 0) return;
    const files = [...list].map((f) => ({ path: f.webkitRelativePath || f.name, file: f as Blob }));
    const top = files[0]?.path.split('/')[0] ?? 'dataset';
    choose({ kind: 'folder', files, label: top }, top);
  };
  const start = async () => {
    if (!source) return;
    setError(null);
    setDone(null);
    setProgress({ loaded: 0, total: 1, phase: 'uploading' });
    try {
      const result =
        source.kind === 'zip' ? await uploadZip(name, source.file, setProgress) : await uploadFolder(name, source.files, setProgress);
      setDone(result);
      onUploaded(result);
    } catch (err) {
      setError((err as Error).message);
    }
  };
  const total = source ? (source.kind === 'zip' ? source.file.size : source.files.reduce((n, f) => n + f.file.size, 0)) : 0;
  const pct = progress ? Math.round((100 * progress.loaded) / Math.max(1, progress.total)) : 0;

  return (
    <section className="df-panel" data-testid="dataset-upload">
      <div className="df-panel-title">Upload a dataset</div>
      {canEdit ? null : <p className="df-alert df-alert-warn df-small">Uploading a dataset {NEEDS_ENGINEER}; you can browse the datasets.</p>}
      <p className="df-help">
        A zip or a folder in any layout the dataset node reads: one folder per class, MVTec-AD (train/good, test/&lt;defect&gt;),
        or a CSV manifest (labels.csv with path,label[,split]). Large uploads resume after a dropped connection.
      </p>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target; the file inputs inside are the keyboard path */}
      <div
        className="df-empty"
        style={{ borderColor: over ? 'var(--df-accent)' : undefined, margin: '8px 0' }}
        data-testid="dataset-dropzone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={async (e) => {
          e.preventDefault();
          setOver(false);
          const dropped = e.dataTransfer.files;
          const only = dropped.length === 1 ? dropped[0] : undefined;
          if (only && /\.zip$/i.test(only.name)) return choose({ kind: 'zip', file: only }, only.name);
          const files = await filesFromDrop(e.dataTransfer.items);
          const top = files[0]?.path.split('/')[0] ?? 'dataset';
          if (files.length > 0) choose({ kind: 'folder', files, label: top }, top);
        }}
      >
        Drop a zip or a folder here, or{' '}
        <label className="df-linkish">
          choose a zip
          <input
            type="file"
            accept=".zip,application/zip"
            data-testid="upload-zip-input"
            style={{ display: 'none' }}
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) choose({ kind: 'zip', file: f }, f.name);
            }}
          />
        </label>{' '}
        or{' '}
        <label className="df-linkish">
          choose a folder
          <input
            type="file"
            style={{ display: 'none' }}
            data-testid="upload-folder-input"
            // biome-ignore lint/suspicious/noExplicitAny: non-standard attributes for folder picking
            {...({ webkitdirectory: '', directory: '' } as any)}
            multiple
            onChange={(e) => pickFolder(e.target.files)}
          />
        </label>
      </div>
      {source ? (
        <p className="df-small" data-testid="upload-source">
          {source.kind === 'zip' ? `Zip ${source.file.name}` : `Folder ${source.label} (${source.files.length} files)`} ·{' '}
          {formatBytes(total)}
        </p>
      ) : null}
      <div className="df-row">
        <label className="df-label" htmlFor="dataset-name" style={{ margin: 0 }}>
          Name
        </label>
        <input
          id="dataset-name"
          className="df-input"
          data-testid="upload-name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          placeholder="e.g. line3-plates"
          style={{ maxWidth: 260 }}
        />
        <button
          type="button"
          className="df-btn df-btn-primary"
          disabled={!source || !name || busy || !canEdit}
          title={canEdit ? undefined : NEEDS_ENGINEER}
          onClick={start}
          data-testid="upload-start"
        >
          Upload
        </button>
      </div>
      {progress ? (
        <div style={{ marginTop: 8 }}>
          <progress max={100} value={pct} style={{ width: '100%' }} data-testid="upload-progress" />
          <div className="df-small df-muted">
            {progress.phase === 'unpacking' && !done && !error
              ? 'Unpacking and checking the images…'
              : `${formatBytes(progress.loaded)} of ${formatBytes(progress.total)} (${pct}%)`}
          </div>
        </div>
      ) : null}
      {error ? (
        <p className="df-error" role="alert" data-testid="upload-error">
          {error}
        </p>
      ) : null}
      {done ? (
        <p className="df-ok" data-testid="upload-done">
          Uploaded <Link href={`/datasets/${encodeURIComponent(done.name)}`}>{done.name}</Link>: {done.images} images in{' '}
          {done.classes.length} classes.
        </p>
      ) : null}
    </section>
  );
}

export function DatasetList() {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const list = useQuery(trpc.datasets.list.queryOptions());
  return (
    <div className="df-grid df-grid-2">
      <section className="df-panel">
        <div className="df-panel-title">Datasets</div>
        {list.isLoading ? <p className="df-muted">Loading…</p> : null}
        {list.data?.length === 0 ? <p className="df-empty">No datasets yet: upload one.</p> : null}
        <table className="df-table" data-testid="dataset-list">
          <tbody>
            {(list.data ?? []).map((d) => (
              <tr key={d.name} data-testid="dataset-row" data-name={d.name}>
                <td>
                  <Link href={`/datasets/${encodeURIComponent(d.path)}`}>{d.name}</Link>
                </td>
                <td className="df-num">{d.imageCount} images</td>
                <td className="df-muted df-small">{d.folders.join(', ')}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <UploadForm onUploaded={() => queryClient.invalidateQueries({ queryKey: trpc.datasets.list.queryKey() })} />
    </div>
  );
}
