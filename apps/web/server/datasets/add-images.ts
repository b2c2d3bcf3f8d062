/**
 * "Add images" to an existing dataset: the class folders of an upload (a zip or a folder, through the same staging,
 * unpacking and limits as a new dataset: upload.ts) become the dataset's next version — the latest version's images
 * plus the new ones. A folder named like an existing class adds to it; any other name is a new class.
 *
 * Images on disk never change, and version 1 is read from the dataset folder's own layout, so the new files go to a
 * hidden folder `<dataset>/.added/v<N>/<class>/…` (the loader skips hidden names) and only `.versions/v<N>.csv` lists
 * them. Runs pinned to an earlier version keep reading exactly what they read before.
 *
 * A file named like an image already in its class is refused, by name (the whole upload; nothing is added): it is
 * most likely that image sent again, and two copies could land on both sides of the train/test split.
 */
import { mkdir, readdir, rename, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Repositories } from '@defectflow/db';
import { TRPCError } from '@trpc/server';
import { HttpError } from './staging.ts';
import { checkClassName, datasetDir, engineData, latestVersion, type VersionEntry, withDatasetLock, writeNextVersion } from './versions.ts';

/** Where an addition's files live inside the dataset folder (hidden: never a class of the folder layout). */
export const ADDED_DIR = '.added';
/** Images checked at once (sharp decodes on its own thread pool). */
const DECODE_CONCURRENCY = 4;
const LISTED = 5;

export interface AddedImages {
  name: string;
  version: number;
  classes: string[];
  counts: Record<string, number>;
  images: number;
  /** New images per class. */
  added: Record<string, number>;
  addedImages: number;
  /** Classes the dataset did not have before. */
  newClasses: string[];
  /** What was left out of the upload (files without an image extension), in words. */
  notes: string[];
}

interface NewFile {
  /** Path inside the upload's content folder, class folder first. */
  rel: string;
  abs: string;
  className: string;
}

function listed(names: string[]): string {
  return `${names.slice(0, LISTED).join(', ')}${names.length > LISTED ? `, … (${names.length} in all)` : ''}`;
}

/** The upload's images by class folder; refuses loose images, bad class names and files that do not decode. */
async function scanAddition(root: string, content: string): Promise<{ files: NewFile[]; notes: string[] }> {
  const data = await engineData();
  const loose = (await readdir(content, { withFileTypes: true })).filter((e) => e.isFile() && data.isImageFile(e.name)).map((e) => e.name);
  if (loose.length > 0) {
    throw new HttpError(400, `${loose.length} image(s) are not in a class folder: ${listed(loose)}. Put each image in a folder named after its class`);
  }
  const scan = await data.scanFolders(root, content);
  const files = scan.files.map((f) => ({ rel: f.id, abs: f.path, className: f.className }));
  if (files.length === 0) {
    throw new HttpError(400, 'The upload has no images in class folders: send folders named after classes, each holding image files');
  }
  for (const c of new Set(files.map((f) => f.className))) {
    try {
      checkClassName(c);
    } catch (err) {
      throw new HttpError(400, `Folder "${c}": ${(err as Error).message}`);
    }
  }
  const unreadable: string[] = [];
  for (let i = 0; i < files.length; i += DECODE_CONCURRENCY) {
    await Promise.all(
      files.slice(i, i + DECODE_CONCURRENCY).map((f) =>
        data.checkImageDecodes(f.abs).catch((err: unknown) => {
          unreadable.push(`${f.rel} (${err instanceof data.ImageReadError ? err.reason : (err as Error).message})`);
        }),
      ),
    );
  }
  if (unreadable.length > 0) {
    throw new HttpError(400, `${unreadable.length} file(s) are not readable images, so nothing was added: ${listed(unreadable.sort())}`);
  }
  return { files, notes: scan.warnings.map((w) => w.message) };
}

/** Files of the upload named like an image already in the same class (or twice in the upload). */
function sameNames(current: readonly VersionEntry[], files: readonly NewFile[]): string[] {
  const taken = new Set(current.map((e) => `${e.label}\0${basename(e.id)}`));
  const clashes: string[] = [];
  for (const f of files) {
    const key = `${f.className}\0${basename(f.rel)}`;
    if (taken.has(key)) clashes.push(f.rel);
    taken.add(key);
  }
  return clashes;
}

function asHttpError(err: unknown): unknown {
  if (!(err instanceof TRPCError)) return err;
  const status = err.code === 'NOT_FOUND' ? 404 : err.code === 'CONFLICT' ? 409 : err.code === 'BAD_REQUEST' ? 400 : 500;
  return new HttpError(status, err.message);
}

/**
 * Adds the class folders under `content` (an unpacked upload inside DATASETS_ROOT) to dataset `name` as its next
 * version. `content` is moved into the dataset on success; on failure nothing in the dataset changed.
 */
export async function addImagesToDataset(repo: Repositories, root: string, name: string, content: string): Promise<AddedImages> {
  try {
    const { files, notes } = await scanAddition(root, content);
    return await withDatasetLock(root, name, async () => {
      const latest = await latestVersion(root, name);
      const clashes = sameNames(latest.entries, files);
      if (clashes.length > 0) {
        throw new HttpError(
          409,
          `${clashes.length} file(s) have the name of an image already in their class, so nothing was added: ${listed(clashes)}. ` +
            'Rename them, or leave them out if they are images the dataset already has.',
        );
      }
      const version = latest.version + 1;
      const folder = `${ADDED_DIR}/v${version}`;
      const target = join(datasetDir(root, name), folder);
      await mkdir(join(datasetDir(root, name), ADDED_DIR), { recursive: true });
      try {
        await rename(content, target);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EEXIST' || code === 'ENOTEMPTY') {
          throw new HttpError(409, `Dataset ${name} changed meanwhile (${folder} exists); reload and retry`);
        }
        throw err;
      }
      const oldClasses = new Set(latest.entries.map((e) => e.label));
      const added: Record<string, number> = {};
      for (const f of files) added[f.className] = (added[f.className] ?? 0) + 1;
      const newClasses = Object.keys(added).filter((c) => !oldClasses.has(c)).sort();
      const next = [...latest.entries, ...files.map((f) => ({ id: `${folder}/${f.rel}`, label: f.className }))];
      const message = `Added ${files.length} image(s): ${Object.entries(added)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([c, n]) => `${c} +${n}${newClasses.includes(c) ? ' (new class)' : ''}`)
        .join(', ')}`;
      let result: Awaited<ReturnType<typeof writeNextVersion>>;
      try {
        result = await writeNextVersion(repo, root, name, latest, next, { kind: 'add', added, newClasses }, message);
      } catch (err) {
        // Unless the version file was written (and only its database row failed), no version lists these files.
        const data = await engineData();
        if (!(await data.listDatasetVersions(datasetDir(root, name))).includes(version)) await rm(target, { recursive: true, force: true });
        throw err;
      }
      return {
        name,
        version: result.version,
        classes: Object.keys(result.counts).sort(),
        counts: result.counts,
        images: next.length,
        added,
        addedImages: files.length,
        newClasses,
        notes,
      };
    });
  } catch (err) {
    throw asHttpError(err);
  }
}
