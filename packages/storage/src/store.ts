/**
 * Where run artifacts, model folders and dataset blobs live so that web servers and runners on different
 * machines reach them without sharing a disk. Keys (keys.ts):
 *   runs/<runId>/<file>              evaluate metrics files, cached results
 *   models/<modelId>/<file>          exported model folders
 *   datasets/<name>/manifest.json    a published dataset: relative path → sha256 + size
 *   blobs/<sha256>                   dataset file contents, content-addressed
 * Filesystem rooted at DATA_DIR (embedded default: the keys ARE today's paths) or S3-compatible.
 */

import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
}

export interface ArtifactStore {
  /** Writes a whole object; readers see the old or the new content, never half. */
  put(key: string, body: Buffer | Uint8Array | string): Promise<void>;
  /** Uploads a local file (streamed). */
  putFile(key: string, path: string): Promise<void>;
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Buffer | null>;
  /** The object's bytes as a stream (serving big files: model archives, ONNX exports), or null when there is none. */
  getStream(key: string): Promise<Readable | null>;
  /** Downloads to a local file (streamed, temp file + rename); false when there is no such object. */
  getToFile(key: string, path: string): Promise<boolean>;
  has(key: string): Promise<boolean>;
  /** Objects whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<StoredObject[]>;
  /** Removes one object; a missing one is not an error. */
  delete(key: string): Promise<void>;
  /** Removes every object under a non-empty prefix; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
  /** For logs: kind and location, never credentials. */
  describe(): string;
}
