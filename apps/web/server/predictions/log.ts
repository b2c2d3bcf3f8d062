/**
 * The prediction log: every prediction a deployed model makes through the prediction API or the model page is a
 * `predictions` row (time, model + version, class, confidence, latency, SHA-256 of the image bytes, source,
 * token). The image itself is kept for a random sample (PREDICTION_SAMPLE_RATE) and for every low-confidence
 * answer (below PREDICTION_LOW_CONFIDENCE), under DATA_DIR/predictions/<model id>/<day>/<row id>.<ext>, within
 * PREDICTION_IMAGES_MAX_BYTES (the oldest images are deleted first; their rows keep the hash). Rows and images
 * older than PREDICTION_RETENTION_DAYS are deleted at start and hourly.
 *
 * The byte total of kept images is counted from the database at start and kept in memory afterwards (one web
 * server per database, as for the rate limits); budget and retention work runs one step at a time.
 */
import { createHash, randomUUID } from 'node:crypto';
import { lstat, mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import type { ArtifactStore } from '@defectflow/storage';
import { dirname } from 'node:path';
import type { Model, PredictionImageReason, PredictionRow, PredictionSource, Repositories } from '@defectflow/db';
import { errorMessage, type Logger } from '../log.ts';
import { resolveInsideRoot } from '../paths.ts';

export interface PredictionLogOptions {
  repo: Repositories;
  /** DATA_DIR/predictions. */
  dir: string;
  /** PREDICTION_SAMPLE_RATE (0..1). */
  sampleRate: number;
  /** PREDICTION_LOW_CONFIDENCE (0..1). */
  lowConfidence: number;
  /** PREDICTION_IMAGES_MAX_BYTES. */
  imagesMaxBytes: number;
  /** PREDICTION_RETENTION_DAYS. */
  retentionDays: number;
  log: Logger;
  /**
   * Cluster mode with STORAGE_URL: kept images also go to the store (`predictions/<imagePath>`), so any web server
   * shows them and the review queue adds them; this server's files are then a cache (localImage fetches a missing one).
   */
  store?: ArtifactStore;
  /** For tests: the sampling draw and the clock. */
  random?: () => number;
  now?: () => number;
}

/** Told after rows are stored (the alarm evaluator); must not throw or block: the prediction is answered already. */
export type RecordedHook = (modelId: string, rows: PredictionRow[]) => void;

/** One answered image, as the service hands it to the log. */
export interface LogEntry {
  name: string;
  data: Uint8Array;
  label: string;
  confidence: number;
  probabilities: Record<string, number>;
  latencyMs: number;
  /** The input-drift call, when the model has a drift reference. */
  drift?: { score: number; drifted: boolean };
}

export interface LogContext {
  model: Pick<Model, 'id' | 'version'>;
  source: PredictionSource;
  tokenId?: string | null;
}

const PRUNE_EVERY_MS = 60 * 60_000;
/** Rows deleted (or images dropped) per database round trip. */
const BATCH = 500;

/** The file extension of an image's bytes (its format), so the kept file opens as what it is. */
export function imageExtension(data: Uint8Array): string {
  const b = (i: number) => data[i] ?? -1;
  const ascii = (from: number, to: number) => String.fromCharCode(...data.subarray(from, to));
  if (b(0) === 0x89 && ascii(1, 4) === 'PNG') return '.png';
  if (b(0) === 0xff && b(1) === 0xd8 && b(2) === 0xff) return '.jpg';
  if (ascii(0, 4) === 'GIF8') return '.gif';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return '.webp';
  if (ascii(0, 2) === 'BM') return '.bmp';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return '.tif';
  return '.img';
}

/** A model id as a folder name: ids are safe ids already, anything else gets a hash (never a path). */
function folderOf(modelId: string): string {
  return /^[A-Za-z0-9_-]{1,128}$/.test(modelId) ? modelId : `m-${createHash('sha256').update(modelId).digest('hex').slice(0, 32)}`;
}

export class PredictionLog {
  private keptBytes: number | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly random: () => number;
  private readonly now: () => number;
  /** See RecordedHook (set by the server once the alarm evaluator exists). */
  onRecorded: RecordedHook | null = null;

  constructor(readonly options: PredictionLogOptions) {
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  get lowConfidenceThreshold(): number {
    return this.options.lowConfidence;
  }

  /** Prunes old rows now and then hourly. */
  async start(): Promise<void> {
    await this.prune();
    this.timer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** The kept image of a row, resolved inside DATA_DIR/predictions (null when it was not kept or is gone). */
  imageFile(row: Pick<PredictionRow, 'imagePath'>): string | null {
    return row.imagePath ? resolveInsideRoot(this.options.dir, row.imagePath) : null;
  }

  /** imageFile, fetched from the store first when another web server kept it (cluster mode); null when there is none. */
  async localImage(row: Pick<PredictionRow, 'imagePath'>): Promise<string | null> {
    const file = this.imageFile(row);
    if (!file || !row.imagePath) return null;
    if (await isRegularFile(file)) return file;
    if (!this.options.store) return null;
    return (await this.options.store.getToFile(storeKey(row.imagePath), file)) ? file : null;
  }

  /**
   * Stores one row per answered image (images kept by sample or low confidence written first, so a row never
   * names a missing file), then holds the image budget. Returns the rows in the entries' order.
   */
  async record(entries: LogEntry[], ctx: LogContext): Promise<PredictionRow[]> {
    if (entries.length === 0) return [];
    const createdAt = new Date(this.now()); // ms precision: the list's paging cursor round-trips exactly
    const day = createdAt.toISOString().slice(0, 10);
    const written: string[] = [];
    const rows = [];
    for (const e of entries) {
      const id = randomUUID();
      const lowConfidence = e.confidence < this.options.lowConfidence;
      // Low-confidence and drifted images feed the review queue (routers/reviews.ts), so they are always kept.
      const reason: PredictionImageReason | null = lowConfidence
        ? 'low_confidence'
        : e.drift?.drifted
          ? 'drifted'
          : this.random() < this.options.sampleRate
            ? 'sample'
            : null;
      let imagePath: string | null = null;
      // An image larger than the whole budget would only push every other image out: not kept.
      if (reason && e.data.length <= this.options.imagesMaxBytes) {
        imagePath = `${folderOf(ctx.model.id)}/${day}/${id}${imageExtension(e.data)}`;
        const file = resolveInsideRoot(this.options.dir, imagePath);
        try {
          await mkdir(dirname(file), { recursive: true });
          await writeFile(file, e.data);
          written.push(file);
          await this.options.store?.put(storeKey(imagePath), e.data);
        } catch (err) {
          this.options.log.warn(`prediction log: could not keep image ${e.name}: ${errorMessage(err)}`);
          imagePath = null;
        }
      }
      rows.push({
        id,
        createdAt,
        modelId: ctx.model.id,
        modelVersion: ctx.model.version,
        label: e.label,
        confidence: e.confidence,
        probabilities: e.probabilities,
        lowConfidence,
        latencyMs: Math.max(0, Math.round(e.latencyMs)),
        imageSha256: createHash('sha256').update(e.data).digest('hex'),
        imageName: e.name.slice(0, 255),
        imageBytes: e.data.length,
        source: ctx.source,
        tokenId: ctx.tokenId ?? null,
        imagePath,
        imageReason: imagePath ? reason : null,
        drift: e.drift ? e.drift.score : null,
        drifted: e.drift ? e.drift.drifted : null,
      });
    }
    let stored: PredictionRow[];
    try {
      stored = await this.options.repo.predictions.insert(rows);
    } catch (err) {
      await Promise.all(written.map((f) => rm(f, { force: true })));
      throw err;
    }
    const added = stored.reduce((sum, r) => sum + (r.imagePath ? r.imageBytes : 0), 0);
    if (added > 0) await this.serial(() => this.holdBudget(added));
    try {
      this.onRecorded?.(ctx.model.id, stored);
    } catch (err) {
      this.options.log.warn(`prediction log: the recorded hook failed: ${errorMessage(err)}`);
    }
    return stored;
  }

  /** Deletes rows (and their images) older than the retention; returns how many rows went. */
  prune(): Promise<number> {
    return this.serial(async () => {
      const cutoff = new Date(this.now() - this.options.retentionDays * 86_400_000);
      let removed = 0;
      try {
        for (;;) {
          const rows = await this.options.repo.predictions.removeOlderThan(cutoff, BATCH);
          removed += rows.length;
          const kept = rows.filter((r): r is typeof r & { imagePath: string } => r.imagePath !== null);
          await this.deleteFiles(kept.map((r) => r.imagePath));
          if (this.keptBytes !== null) this.keptBytes -= kept.reduce((s, r) => s + r.imageBytes, 0);
          if (rows.length < BATCH) break;
        }
        if (removed) this.options.log.info(`prediction log: deleted ${removed} prediction(s) older than ${this.options.retentionDays} days (PREDICTION_RETENTION_DAYS)`);
      } catch (err) {
        this.options.log.warn(`prediction log: pruning failed: ${errorMessage(err)}`);
      }
      return removed;
    });
  }

  /** After a model's rows went with it (cascade): its image folder goes too, and the byte count is read again. */
  forgetModel(modelId: string): Promise<void> {
    return this.serial(async () => {
      await rm(resolveInsideRoot(this.options.dir, folderOf(modelId)), { recursive: true, force: true });
      await this.options.store?.deletePrefix(storeKey(`${folderOf(modelId)}/`));
      this.keptBytes = null;
    });
  }

  /** Drops the oldest kept images until the total fits PREDICTION_IMAGES_MAX_BYTES. */
  private async holdBudget(added: number): Promise<void> {
    if (this.keptBytes === null) this.keptBytes = await this.options.repo.predictions.keptImageBytes();
    else this.keptBytes += added;
    let dropped = 0;
    while (this.keptBytes > this.options.imagesMaxBytes) {
      const oldest = await this.options.repo.predictions.oldestKeptImages(BATCH);
      if (oldest.length === 0) {
        this.keptBytes = 0;
        break;
      }
      const batch: typeof oldest = [];
      for (const img of oldest) {
        if (this.keptBytes <= this.options.imagesMaxBytes) break;
        batch.push(img);
        this.keptBytes -= img.imageBytes;
      }
      await this.options.repo.predictions.clearImages(batch.map((i) => i.id));
      await this.deleteFiles(batch.map((i) => i.imagePath));
      dropped += batch.length;
    }
    if (dropped) this.options.log.info(`prediction log: dropped the ${dropped} oldest kept image(s) to stay within PREDICTION_IMAGES_MAX_BYTES`);
  }

  private async deleteFiles(paths: string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const p of paths) {
      try {
        const file = resolveInsideRoot(this.options.dir, p);
        await rm(file, { force: true });
        dirs.add(dirname(file));
        await this.options.store?.delete(storeKey(p));
      } catch (err) {
        this.options.log.warn(`prediction log: could not delete ${p}: ${errorMessage(err)}`);
      }
    }
    // Day folders left empty go too (rmdir refuses non-empty ones).
    for (const d of dirs) await rmdir(d).catch(() => {});
  }

  /** Budget and retention steps one after another: the in-memory byte count is never updated twice at once. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => {});
    return next;
  }
}

/** A kept image's key in the store (cluster mode). */
const storeKey = (imagePath: string) => `predictions/${imagePath}`;

async function isRegularFile(file: string): Promise<boolean> {
  // lstat: a kept image that became a symlink is not followed.
  return (await lstat(file).catch(() => null))?.isFile() ?? false;
}
