import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeRunContext } from '../../src/runtime/types.ts';

/** A fresh DATA_DIR layout in the system temp folder for tests that run real nodes; remove `dataDir` afterwards. */
export async function tempRunDirs(prefix: string): Promise<NodeRunContext['dirs']> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  return {
    dataDir: root,
    datasetsRoot: path.join(root, 'datasets'),
    runDir: path.join(root, 'runs', 'r1'),
    modelsDir: path.join(root, 'models'),
    cacheDir: path.join(root, 'cache'),
  };
}

/** A quiet context for calling one run function directly (no executor): events go nowhere. */
export function quietContext(dirs: NodeRunContext['dirs'], nodeId: string, runId = 'r'): NodeRunContext {
  return { runId, nodeId, signal: new AbortController().signal, progress: () => {}, log: () => {}, emit: () => {}, dirs, cacheKey: 'k' };
}
