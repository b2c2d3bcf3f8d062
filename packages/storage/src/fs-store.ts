/**
 * The local-filesystem store: key `a/b/c` is the file `<root>/a/b/c`. Rooted at DATA_DIR (the embedded
 * default) the keys are today's paths, so nothing is copied; putFile/getToFile of a file onto itself are no-ops.
 */
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { checkKey, checkPrefix, InvalidKeyError } from './keys.ts';

import type { ArtifactStore, StoredObject } from './store.ts';
import { errCode, isTempName, tempSibling } from './temp-file.ts';

export class FsStore implements ArtifactStore {
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file a key names (validated, so always inside root). */
  pathOf(key: string): string {
    return join(this.root, ...checkKey(key).split('/'));
  }

  async put(key: string, body: Buffer | Uint8Array | string): Promise<void> {
    await this.writeAtomically(this.pathOf(key), (tmp) => writeFile(tmp, body));
  }

  async putFile(key: string, path: string): Promise<void> {
    const target = this.pathOf(key);
    if (resolve(path) === target) return;
    await this.writeAtomically(target, (tmp) => copyFile(path, tmp));
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(key));
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
  }

  async getStream(key: string): Promise<Readable | null> {
    // Opened before returning, so a missing file is null here and not a stream error later.
    let handle: import('node:fs/promises').FileHandle;
    try {
      handle = await open(this.pathOf(key), 'r');
      if (!(await handle.stat()).isFile()) {
        await handle.close();
        return null;
      }
    } catch (err) {
      if (missing(err)) return null;
      throw err;
    }
    return handle.createReadStream();
  }

  async getToFile(key: string, path: string): Promise<boolean> {
    const source = this.pathOf(key);
    if (!(await isFile(source))) return false;
    if (resolve(path) === source) return true;
    try {
      await this.writeAtomically(resolve(path), (tmp) => copyFile(source, tmp));
    } catch (err) {
      if (missing(err) && !(await isFile(source))) return false;
      throw err;
    }
    return true;
  }

  has(key: string): Promise<boolean> {
    return isFile(this.pathOf(key));
  }

  async list(prefix: string): Promise<StoredObject[]> {
    checkPrefix(prefix);
    // Walk the deepest folder the prefix names whole, then filter by the partial tail.
    const cut = prefix.lastIndexOf('/');
    const folder = cut < 0 ? '' : prefix.slice(0, cut);
    const out: StoredObject[] = [];
    await walk(folder ? join(this.root, ...folder.split('/')) : this.root, folder, out);
    return out.filter((o) => o.key.startsWith(prefix)).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await unlink(this.pathOf(key)).catch((err) => {
      if (!missing(err)) throw err;
    });
  }

  async deletePrefix(prefix: string): Promise<number> {
    if (checkPrefix(prefix) === '') throw new InvalidKeyError(prefix, 'deletePrefix needs a non-empty prefix');
    const objects = await this.list(prefix);
    if (prefix.endsWith('/')) {
      // A whole folder (models/<id>/, runs/<id>/): removed as one, like before the store existed.
      await rm(join(this.root, ...prefix.slice(0, -1).split('/')), { recursive: true, force: true });
    } else {
      for (const o of objects) await this.delete(o.key);
    }
    return objects.length;
  }

  describe(): string {
    return `filesystem ${this.root}`;
  }

  private async writeAtomically(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
    await mkdir(dirname(target), { recursive: true });
    const tmp = tempSibling(target);
    try {
      await write(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

function missing(err: unknown): boolean {
  const code = errCode(err);
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR';
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (err) {
    if (missing(err)) return false;
    throw err;
  }
}

/** Regular files only (symlinks and temp files of in-flight writes are not objects). */
async function walk(dir: string, keyPrefix: string, out: StoredObject[]): Promise<void> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (missing(err)) return;
    throw err;
  }
  for (const e of entries) {
    const key = keyPrefix ? `${keyPrefix}/${e.name}` : e.name;
    // Temp files of in-flight writes and names no key can have are not objects of this store.
    if (isTempName(e.name) || !isValidKey(key)) continue;
    const path = dir + sep + e.name;
    if (e.isDirectory()) await walk(path, key, out);
    else if (e.isFile()) out.push({ key, size: (await stat(path)).size });
  }
}

function isValidKey(key: string): boolean {
  try {
    checkKey(key);
    return true;
  } catch {
    return false;
  }
}
