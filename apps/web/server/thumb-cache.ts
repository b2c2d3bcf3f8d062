/**
 * Rendered thumbnails on disk (DATA_DIR/cache/thumbs/<key>.png), bounded by THUMB_CACHE_MAX_BYTES: the least
 * recently used go first. The key hashes what makes a thumbnail (source path, size, mtime, thumbnail px), so an
 * edited file gets a new entry and the stale one ages out. Concurrent requests for one key render it once.
 * The index lives in memory, rebuilt from the folder on start (file mtime = last use, touched on every hit).
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ThumbCacheOptions {
  dir: string;
  maxBytes: number;
}

interface Entry {
  bytes: number;
  lastUsed: number;
}

/** What identifies one rendered thumbnail. */
export interface ThumbSource {
  file: string;
  size: number;
  mtimeMs: number;
  /** Thumbnail edge in px; 0 = the whole image converted for the browser. */
  px: number;
}

export function thumbKey(src: ThumbSource): string {
  return createHash('sha256').update(`${src.file}\0${src.size}\0${src.mtimeMs}\0${src.px}\0png`).digest('hex').slice(0, 40);
}

export class ThumbCache {
  private readonly index = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Buffer>>();
  private total = 0;
  /** Thumbnails rendered (cache misses); tests read it to see a second request was served from disk. */
  rendered = 0;
  readonly ready: Promise<void>;

  constructor(private readonly opts: ThumbCacheOptions) {
    this.ready = this.load();
  }

  get bytes(): number {
    return this.total;
  }

  /** The cached thumbnail for `key`, or `render()`'s result, stored (and older entries evicted past the cap). */
  async get(key: string, render: () => Promise<Buffer>): Promise<Buffer> {
    await this.ready;
    const pending = this.inflight.get(key);
    if (pending) return pending;
    const work = this.lookupOrRender(key, render).finally(() => this.inflight.delete(key));
    this.inflight.set(key, work);
    return work;
  }

  private async lookupOrRender(key: string, render: () => Promise<Buffer>): Promise<Buffer> {
    const file = this.path(key);
    const known = this.index.get(key);
    if (known) {
      const data = await readFile(file).catch(() => null);
      if (data) {
        known.lastUsed = Date.now();
        const now = new Date();
        void utimes(file, now, now).catch(() => undefined); // keeps the LRU order across restarts
        return data;
      }
      this.forget(key); // deleted behind our back: render again
    }
    const data = await render();
    this.rendered++;
    if (data.length <= this.opts.maxBytes) await this.store(key, data);
    return data;
  }

  private async store(key: string, data: Buffer): Promise<void> {
    const file = this.path(key);
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      await mkdir(this.opts.dir, { recursive: true });
      await writeFile(tmp, data);
      await rename(tmp, file); // readers never see half a file
    } catch {
      await rm(tmp, { force: true }).catch(() => undefined);
      return; // a cache that cannot write still serves what it rendered
    }
    this.index.set(key, { bytes: data.length, lastUsed: Date.now() });
    this.total += data.length;
    await this.evict();
  }

  /** Removes least recently used entries until the total fits the cap. */
  private async evict(): Promise<void> {
    if (this.total <= this.opts.maxBytes) return;
    const oldestFirst = [...this.index.entries()].sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [key] of oldestFirst) {
      if (this.total <= this.opts.maxBytes) break;
      this.forget(key);
      await rm(this.path(key), { force: true }).catch(() => undefined);
    }
  }

  private forget(key: string): void {
    const entry = this.index.get(key);
    if (!entry) return;
    this.index.delete(key);
    this.total -= entry.bytes;
  }

  private path(key: string): string {
    return join(this.opts.dir, `${key}.png`);
  }

  private async load(): Promise<void> {
    const names = await readdir(this.opts.dir).catch(() => [] as string[]);
    for (const name of names) {
      const file = join(this.opts.dir, name);
      const m = /^([0-9a-f]{40})\.png$/.exec(name);
      const info = m ? await stat(file).catch(() => null) : null;
      if (!m || !info?.isFile()) {
        await rm(file, { recursive: true, force: true }).catch(() => undefined); // .tmp leftovers, strangers
        continue;
      }
      this.index.set(m[1] as string, { bytes: info.size, lastUsed: info.mtimeMs });
      this.total += info.size;
    }
    await this.evict(); // the cap may have shrunk since the last start
  }
}
