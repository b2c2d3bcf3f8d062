import { promises as fs } from 'node:fs';
import path from 'node:path';
import { FeatureCache, generateSampleDataset } from '@defectflow/engine';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDefaultPipeline } from '../src/default-pipeline.ts';
import type { RunEventBody } from '../src/events.ts';
import { execute } from '../src/runtime/executor.ts';
import { nodeRunFunctions } from '../src/runtime/run-functions.ts';
import type { NodeRunContext } from '../src/runtime/types.ts';
import { tempRunDirs } from './helpers/temp-run-dirs.ts';

let dirs: NodeRunContext['dirs'];
// The run writes about 21 MB of feature maps (18 entries of 0.6–1.2 MB): room here for three of them.
const FEATURE_CACHE_MAX_BYTES = 4_000_000;

beforeAll(async () => {
  dirs = await tempRunDirs('df-unreadable-');
  const dataset = path.join(dirs.datasetsRoot, 'messy');
  await generateSampleDataset(dataset, { perClass: 8, size: 64, seed: 2 });
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 90, g: 90, b: 90 } } })
    .jpeg()
    .toBuffer();
  await fs.writeFile(path.join(dataset, 'crazing', 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length * 0.6)));
  await fs.writeFile(path.join(dataset, 'patches', 'empty.png'), '');
  await fs.writeFile(path.join(dataset, 'pitted_surface', 'readme.png'), 'not an image');
  // 150×150 = 22,500 pixels: over the 20,000-pixel limit this run is given.
  await sharp({ create: { width: 150, height: 150, channels: 3, background: { r: 10, g: 10, b: 10 } } })
    .png()
    .toFile(path.join(dataset, 'scratches', 'too-big.png'));
});

afterAll(async () => {
  await fs.rm(dirs.dataDir, { recursive: true, force: true });
});

/** The default template on the messy set, shrunk to run in seconds. */
function smallPipeline() {
  const graph = createDefaultPipeline();
  for (const node of graph.nodes) {
    if (node.type === 'dataset') node.params = { ...node.params, path: 'messy', valRatio: 0.25, testRatio: 0.25 };
    if (node.type === 'backbone') node.params = { ...node.params, inputSize: 64, cutAt: 'block_6_expand_relu' };
    if (node.type === 'train') node.params = { ...node.params, epochs: 2 };
  }
  return graph;
}

describe('a run on a dataset with unreadable images', () => {
  it('names them in the dataset node, trains on the rest, and keeps the feature cache under its cap', async () => {
    const events: RunEventBody[] = [];
    const result = await execute(
      {
        runId: 'messy-run',
        graph: smallPipeline(),
        sink: (e) => events.push(e),
        dirs,
        limits: { imageMaxPixels: 20_000, featureCacheMaxBytes: FEATURE_CACHE_MAX_BYTES },
      },
      nodeRunFunctions,
    );
    expect(result.failed).toBeUndefined();
    expect(result.status).toBe('succeeded');

    const warnings = events.filter((e): e is Extract<RunEventBody, { type: 'node.log' }> => e.type === 'node.log' && e.nodeId === 'dataset' && e.level === 'warn');
    const unreadable = warnings.find((w) => w.message.includes('not readable images'));
    for (const id of ['crazing/truncated.jpg', 'patches/empty.png', 'pitted_surface/readme.png', 'scratches/too-big.png']) expect(unreadable?.message).toContain(id);
    expect(unreadable?.message).toContain('150×150 = 22500 pixels is over the image pixel limit of 20000 pixels (IMAGE_MAX_PIXELS)');
    expect(result.summaries.dataset?.images).toBe(6 * 8);

    // The check's progress is throttled like every node's, and always ends on its last report.
    const check = events.filter((e): e is Extract<RunEventBody, { type: 'node.progress' }> => e.type === 'node.progress' && e.phase === 'check');
    expect(check.at(-1)).toMatchObject({ done: 6 * 8 + 4, total: 6 * 8 + 4 });

    // Train and evaluate ran on the images that decode; the cache's disk use is back under its cap.
    expect(result.summaries.evaluate?.skippedImages).toBe(0);
    const cache = new FeatureCache(path.join(dirs.cacheDir, 'features'));
    const bytes = await cache.diskBytes();
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThanOrEqual(FEATURE_CACHE_MAX_BYTES);
  });
});
