'use client';
/**
 * The parts both upload forms share — a new dataset (/datasets) and "Add images" (the dataset page): the drop zone
 * with its zip and folder pickers, and the upload's progress (bytes, then "Unpacking and checking the images…").
 */
import { type ReactNode, useState } from 'react';
import { type FolderFile, filesFromDrop, type UploadedDataset, type UploadProgress, type UploadTarget, uploadFolder, uploadZip } from './upload-client.ts';

export type UploadSource = { kind: 'zip'; file: File } | { kind: 'folder'; files: FolderFile[]; label: string };

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${Math.ceil(n / 1024)} KiB`;
}

function sourceBytes(source: UploadSource): number {
  return source.kind === 'zip' ? source.file.size : source.files.reduce((n, f) => n + f.file.size, 0);
}

/** A drop zone for a zip or a folder, with "choose a zip" / "choose a folder"; `onChoose` gets the source and its name. */
export function SourcePicker({
  source,
  onChoose,
  testIdPrefix,
  dropzoneTestId,
  children,
}: {
  source: UploadSource | null;
  onChoose: (source: UploadSource, label: string) => void;
  /** `<prefix>-zip-input`, `<prefix>-folder-input`, `<prefix>-source`. */
  testIdPrefix: string;
  dropzoneTestId: string;
  /** The drop zone's first words. */
  children?: ReactNode;
}) {
  const [over, setOver] = useState(false);
  const pickFolder = (list: FileList | null) => {
    if (!list || list.length === 0) return;
    const files = [...list].map((f) => ({ path: f.webkitRelativePath || f.name, file: f as Blob }));
    const top = files[0]?.path.split('/')[0] ?? 'dataset';
    onChoose({ kind: 'folder', files, label: top }, top);
  };
  return (
    <>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target; the file inputs inside are the keyboard path */}
      <div
        className="df-empty"
        style={{ borderColor: over ? 'var(--df-accent)' : undefined, margin: '8px 0' }}
        data-testid={dropzoneTestId}
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
          if (only && /\.zip$/i.test(only.name)) return onChoose({ kind: 'zip', file: only }, only.name);
          const files = await filesFromDrop(e.dataTransfer.items);
          const top = files[0]?.path.split('/')[0] ?? 'dataset';
          if (files.length > 0) onChoose({ kind: 'folder', files, label: top }, top);
        }}
      >
        {children ?? 'Drop a zip or a folder here'}, or{' '}
        <label className="df-linkish">
          choose a zip
          <input
            type="file"
            accept=".zip,application/zip"
            data-testid={`${testIdPrefix}-zip-input`}
            style={{ display: 'none' }}
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) onChoose({ kind: 'zip', file: f }, f.name);
              e.target.value = ''; // choosing the same file again is a new choice
            }}
          />
        </label>{' '}
        or{' '}
        <label className="df-linkish">
          choose a folder
          <input
            type="file"
            style={{ display: 'none' }}
            data-testid={`${testIdPrefix}-folder-input`}
            // biome-ignore lint/suspicious/noExplicitAny: non-standard attributes for folder picking
            {...({ webkitdirectory: '', directory: '' } as any)}
            multiple
            onChange={(e) => pickFolder(e.target.files)}
          />
        </label>
      </div>
      {source ? (
        <p className="df-small" data-testid={`${testIdPrefix}-source`}>
          {source.kind === 'zip' ? `Zip ${source.file.name}` : `Folder ${source.label} (${source.files.length} files)`} ·{' '}
          {formatBytes(sourceBytes(source))}
        </p>
      ) : null}
    </>
  );
}

/** One upload's state: start it, follow its progress, its error or its result. */
export function useUpload<T extends UploadedDataset>() {
  const [progress, setProgress] = useState<UploadProgress | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<T | null>(null);
  const reset = () => {
    setProgress(null);
    setError(null);
    setDone(null);
  };
  const start = async (to: UploadTarget, source: UploadSource): Promise<T | null> => {
    setError(null);
    setDone(null);
    setProgress({ loaded: 0, total: 1, phase: 'uploading' });
    try {
      const result = (source.kind === 'zip' ? await uploadZip(to, source.file, setProgress) : await uploadFolder(to, source.files, setProgress)) as T;
      setDone(result);
      return result;
    } catch (err) {
      setError((err as Error).message);
      return null;
    }
  };
  return { progress, error, done, busy: progress !== null && !error && !done, start, reset };
}

/** The progress bar and its line of words while an upload runs. */
export function UploadProgressView({
  upload,
  testId,
}: {
  upload: { progress: UploadProgress | null; done: unknown; error: string | null };
  testId: string;
}) {
  const { progress, done, error } = upload;
  if (!progress || error) return null; // a refused upload shows its error, not a full bar
  const pct = Math.round((100 * progress.loaded) / Math.max(1, progress.total));
  return (
    <div style={{ marginTop: 8 }}>
      <progress max={100} value={pct} style={{ width: '100%' }} data-testid={testId} />
      <div className="df-small df-muted">
        {progress.phase === 'unpacking' && !done && !error
          ? 'Unpacking and checking the images…'
          : `${formatBytes(progress.loaded)} of ${formatBytes(progress.total)} (${pct}%)`}
      </div>
    </div>
  );
}
