/**
 * Browser side of dataset uploads (see server/datasets/upload.ts), for a new dataset or for "Add images" to an
 * existing one (the same chunks and staging, only the last request differs). A zip goes up in chunks, each
 * with XMLHttpRequest upload progress; a failed chunk is retried from the server's byte count, so a
 * dropped connection resumes instead of starting over. A folder goes up file by file with its relative
 * path; a retry re-sends only files that did not finish.
 */
export const CHUNK_BYTES = 8 * 1024 * 1024;

/** A dataset name from a zip's or folder's name: "Line 3 (May).zip" → "Line-3-May-". */
export function suggestDatasetName(label: string): string {
  return label.replace(/\.zip$/i, '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
}

/**
 * The name field after a zip or folder is chosen: it follows the chosen file, so a second upload never keeps
 * the first one's name. Only a name typed before any file was chosen is kept.
 */
export function nameAfterChoosing(current: string, hadSource: boolean, label: string): string {
  return hadSource || !current ? suggestDatasetName(label) : current;
}
const RETRIES = 3;

export interface UploadProgress {
  loaded: number;
  total: number;
  phase: 'uploading' | 'unpacking';
}

export interface UploadedDataset {
  name: string;
  version: number;
  classes: string[];
  counts: Record<string, number>;
  images: number;
}

/** What "Add images" made: the dataset's new version, with the images added per class. */
export interface AddedImages extends UploadedDataset {
  added: Record<string, number>;
  addedImages: number;
  newClasses: string[];
  notes: string[];
}

/** Where a finished upload goes: a new dataset named `name`, or the next version of dataset `dataset`. */
export type UploadTarget = { kind: 'new'; name: string } | { kind: 'add'; dataset: string };

export interface FolderFile {
  path: string;
  file: Blob;
}

function newUploadId(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

class UploadError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

function send(method: string, url: string, body: Blob | null, onProgress?: (loaded: number) => void): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, url);
    xhr.responseType = 'text';
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      let parsed: Record<string, unknown> = {};
      try {
        parsed = JSON.parse(xhr.responseText || '{}') as Record<string, unknown>;
      } catch {
        parsed = { error: xhr.responseText };
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(parsed);
      else reject(new UploadError(String(parsed.error ?? `HTTP ${xhr.status}`), xhr.status, parsed));
    };
    xhr.onerror = () => reject(new UploadError('The connection to the server was lost', 0, {}));
    xhr.send(body);
  });
}

/**
 * 4xx answers are final (bad name, unsafe archive, too large, too many open uploads), and so is 507 (staging
 * full: the server deleted the upload); network errors, other 5xx and 409 offsets retry.
 */
function retryable(err: unknown): boolean {
  return err instanceof UploadError && (err.status === 0 || (err.status >= 500 && err.status !== 507) || err.status === 409);
}

async function finish(base: string, to: UploadTarget, onProgress: (p: UploadProgress) => void, total: number): Promise<UploadedDataset> {
  onProgress({ loaded: total, total, phase: 'unpacking' });
  const url = to.kind === 'new' ? `${base}/finish?name=${encodeURIComponent(to.name)}` : `${base}/add?dataset=${encodeURIComponent(to.dataset)}`;
  return (await send('POST', url, null)) as unknown as UploadedDataset;
}

export async function uploadZip(to: UploadTarget, zip: Blob, onProgress: (p: UploadProgress) => void): Promise<UploadedDataset> {
  const base = `/api/datasets/uploads/${newUploadId()}`;
  let offset = 0;
  let failures = 0;
  while (offset < zip.size) {
    const chunk = zip.slice(offset, Math.min(zip.size, offset + CHUNK_BYTES));
    const start = offset;
    try {
      const res = await send('PUT', `${base}/archive?offset=${start}`, chunk, (loaded) =>
        onProgress({ loaded: start + loaded, total: zip.size, phase: 'uploading' }),
      );
      offset = Number(res.size);
      failures = 0;
    } catch (err) {
      if (!retryable(err) || ++failures > RETRIES) throw err;
      // Resume from what the server actually has.
      const status = await send('GET', base, null).catch(() => ({ archiveBytes: start }));
      offset = Number((status as { archiveBytes?: number }).archiveBytes ?? start);
    }
  }
  return finish(base, to, onProgress, zip.size);
}

export async function uploadFolder(to: UploadTarget, files: FolderFile[], onProgress: (p: UploadProgress) => void): Promise<UploadedDataset> {
  const base = `/api/datasets/uploads/${newUploadId()}`;
  const total = files.reduce((n, f) => n + f.file.size, 0);
  let done = 0;
  for (const f of files) {
    for (let attempt = 0; ; attempt++) {
      try {
        await send('PUT', `${base}/file?path=${encodeURIComponent(f.path)}`, f.file, (loaded) =>
          onProgress({ loaded: done + loaded, total, phase: 'uploading' }),
        );
        break;
      } catch (err) {
        if (!retryable(err) || attempt >= RETRIES) throw err;
      }
    }
    done += f.file.size;
    onProgress({ loaded: done, total, phase: 'uploading' });
  }
  return finish(base, to, onProgress, total);
}

/** Files of a drag-and-dropped folder (or several), with paths relative to the drop. */
export async function filesFromDrop(items: DataTransferItemList): Promise<FolderFile[]> {
  const out: FolderFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    if (entry.isFile) {
      const file = await new Promise<File>((ok, fail) => (entry as FileSystemFileEntry).file(ok, fail));
      out.push({ path: prefix + entry.name, file });
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${prefix}${entry.name}/`);
      }
    }
  };
  const entries = [...items].map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  for (const e of entries) await walk(e, '');
  return out;
}
