'use client';
/** /datasets: the datasets under DATASETS_ROOT and the upload form (zip or folder, with a progress bar). */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useTRPC } from '../client/trpc.ts';
import { SourcePicker, type UploadSource, UploadProgressView, useUpload } from './UploadSource.tsx';
import { nameAfterChoosing, type UploadedDataset } from './upload-client.ts';

export function UploadForm({ onUploaded }: { onUploaded: (d: UploadedDataset) => void }) {
  const [source, setSource] = useState<UploadSource | null>(null);
  const [name, setName] = useState('');
  const upload = useUpload();
  const { canEdit } = useMe();

  const choose = (s: UploadSource, label: string) => {
    setName(nameAfterChoosing(name, source !== null, label));
    setSource(s);
    upload.reset();
  };
  const start = async () => {
    if (!source) return;
    const result = await upload.start({ kind: 'new', name }, source);
    if (result) onUploaded(result);
  };
  const { error, done } = upload;

  return (
    <section className="df-panel" data-testid="dataset-upload">
      <div className="df-panel-title">Upload a dataset</div>
      {canEdit ? null : <p className="df-alert df-alert-warn df-small">Uploading a dataset {NEEDS_ENGINEER}; you can browse the datasets.</p>}
      <p className="df-help">
        A zip or a folder in any layout the dataset node reads: one folder per class, MVTec-AD (train/good, test/&lt;defect&gt;),
        or a CSV manifest (labels.csv with path,label[,split]). Large uploads resume after a dropped connection. To add
        images to a dataset you have, use "Add images" on its page.
      </p>
      <SourcePicker source={source} onChoose={choose} testIdPrefix="upload" dropzoneTestId="dataset-dropzone" />
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
          disabled={!source || !name || upload.busy || !canEdit}
          title={canEdit ? undefined : NEEDS_ENGINEER}
          onClick={start}
          data-testid="upload-start"
        >
          Upload
        </button>
      </div>
      <UploadProgressView upload={upload} testId="upload-progress" />
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
