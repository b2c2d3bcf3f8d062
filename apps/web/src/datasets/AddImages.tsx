'use client';
/**
 * "Add images" on the dataset page: a zip or a folder of class folders goes up through the same chunked upload as a
 * new dataset and becomes the dataset's next version (server/datasets/add-images.ts).
 */
import { useState } from 'react';
import { SourcePicker, type UploadSource, UploadProgressView, useUpload } from './UploadSource.tsx';
import type { AddedImages } from './upload-client.ts';

/** "crazing +2, oil-spots +3 (new class)". */
export function describeAdded(r: Pick<AddedImages, 'added' | 'newClasses'>): string {
  return Object.entries(r.added)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([c, n]) => `${c} +${n}${r.newClasses.includes(c) ? ' (new class)' : ''}`)
    .join(', ');
}

export function AddImages({
  name,
  classes,
  latestVersion,
  onAdded,
  onClose,
}: {
  name: string;
  classes: string[];
  latestVersion: number;
  onAdded: (r: AddedImages) => void;
  onClose: () => void;
}) {
  const [source, setSource] = useState<UploadSource | null>(null);
  const upload = useUpload<AddedImages>();
  const example = classes.slice(0, 2).join(', ');
  const start = async () => {
    if (!source) return;
    const result = await upload.start({ kind: 'add', dataset: name }, source);
    if (result) onAdded(result);
  };
  return (
    <section className="df-panel" data-testid="add-images">
      <div className="df-panel-title">Add images to {name}</div>
      <p className="df-help">
        A zip or a folder of class folders. A folder named like a class ({example}) adds to it; any other name makes a new
        class. Together with the images of the latest version (v{latestVersion}) they become version {latestVersion + 1}
        — earlier versions, and the runs that trained on them, keep their images. A file named like an image already in its
        class is refused: rename it, or leave it out if the dataset has it already.
      </p>
      <SourcePicker
        source={source}
        onChoose={(s) => {
          setSource(s);
          upload.reset();
        }}
        testIdPrefix="add-images"
        dropzoneTestId="add-images-dropzone"
      >
        Drop a zip or a folder of class folders here
      </SourcePicker>
      <div className="df-row">
        <button
          type="button"
          className="df-btn df-btn-primary"
          disabled={!source || upload.busy}
          onClick={start}
          data-testid="add-images-start"
        >
          Add as version {latestVersion + 1}
        </button>
        <button type="button" className="df-btn" disabled={upload.busy} onClick={onClose}>
          Cancel
        </button>
      </div>
      <UploadProgressView upload={upload} testId="add-images-progress" />
      {upload.error ? (
        <p className="df-error" role="alert" data-testid="add-images-error">
          {upload.error}
        </p>
      ) : null}
    </section>
  );
}
