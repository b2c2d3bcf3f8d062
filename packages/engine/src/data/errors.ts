/** Typed errors of the data layer. Each names the file, path or line it is about. */

/** An image file could not be decoded (missing, truncated, not an image, unsupported). */
export class ImageReadError extends Error {
  readonly code = 'image_unreadable';
  constructor(
    public readonly file: string,
    public readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Cannot read image ${file}: ${reason}`, options);
    this.name = 'ImageReadError';
  }
}

/** A user-supplied path resolves (lexically or through a symlink) outside the allowed root. */
export class PathOutsideRootError extends Error {
  readonly code = 'path_outside_root';
  constructor(
    public readonly userPath: string,
    public readonly root: string,
    detail?: string,
  ) {
    super(`Path "${userPath}" is outside the allowed root ${root}${detail ? ` (${detail})` : ''}`);
    this.name = 'PathOutsideRootError';
  }
}

export type DatasetErrorCode =
  | 'dataset_not_found'
  | 'dataset_empty'
  | 'too_few_classes'
  | 'csv_invalid'
  | 'path_outside_root';

/** A dataset cannot be loaded at all (as opposed to warnings about some of its files). */
export class DatasetError extends Error {
  constructor(
    public readonly code: DatasetErrorCode,
    message: string,
    public readonly details: { path?: string; file?: string; line?: number } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'DatasetError';
  }
}

/** Thrown when an AbortSignal fires during a long data operation. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    throw reason instanceof Error ? reason : new DOMException('The operation was aborted', 'AbortError');
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
