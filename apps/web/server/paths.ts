/**
 * Path safety for everything the web server reads from disk on a user's behalf: the engine's own check,
 * taken from its TensorFlow-free `data` entry so validating a path never loads TensorFlow.js.
 */
import path from 'node:path';
import { PathOutsideRootError, resolveInsideRoot } from '@defectflow/engine/data';

export { PathOutsideRootError, resolveInsideRoot };

/**
 * A registered model's folder, refused unless it is a folder inside the models dir: rows come from deploy
 * summaries the runner sends (and may predate this check), and the folder is served as an archive.
 */
export function modelDirInside(modelsDir: string, model: { id: string; dir: string }): string {
  let dir: string;
  try {
    dir = resolveInsideRoot(modelsDir, model.dir);
  } catch (err) {
    if (err instanceof PathOutsideRootError) err.message = `Model ${model.id}: ${err.message}`;
    throw err;
  }
  if (path.relative(path.resolve(modelsDir), dir) === '') {
    throw new PathOutsideRootError(model.dir, modelsDir, `model ${model.id} names the models folder itself, not its own folder`);
  }
  return dir;
}
