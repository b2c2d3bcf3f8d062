/**
 * Staged fine-tuning on the ONNX path (issue 16): time per epoch, whole template, accuracy.
 *
 *   npx tsx bench/finetune.ts [--datasets /tmp/df-bench/datasets] [--autodiff-images 100] [--part epoch,template] [--modes frozen,staged]
 *
 * epoch: the 1,800-image steel sample at 160 px, default head (spatial, 128 filters, max pooling),
 *   freeze staged with the top 2 blocks unfrozen, the default augmentation (1 copy). Boundary maps
 *   are extracted first (timed apart), then 2 head-only + 2 fine-tune epochs on the ONNX path, then
 *   the TF.js autodiff path on the first `--autodiff-images` training views for one fine-tune epoch,
 *   extrapolated to the full set (a full autodiff epoch takes minutes), and the ONNX path on the same
 *   subset for a like-for-like ratio.
 * template: the default template (examples/default-pipeline.json) from Run to exported model, frozen
 *   (as shipped) and staged (5 head + 5 fine-tune epochs, early stopping off), on steel and on the
 *   small-defects tile sample, fresh caches each: wall time and test accuracy.
 * Sample sets are generated under --datasets if missing (not timed).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, loadNow, machineHeader } from './lib/machine.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DATASETS = path.resolve(arg('datasets', '/tmp/df-bench/datasets'));
const AUTODIFF_IMAGES = Number(arg('autodiff-images', '100'));
const PARTS = new Set(arg('part', 'epoch,template').split(','));
/** Template part: which freeze modes to run (frozen = as shipped, staged = 5 head + 5 fine-tune). */
const MODES = arg('modes', 'frozen,staged').split(',') as ('frozen' | 'staged')[];

const engine = await import('../packages/engine/src/index.ts');
const { generateSampleDataset, initBackend, loadDataset } = engine;
const { freezeBackbone, loadBackbone } = await import('../packages/engine/src/model/backbone.ts');
const { boundaryFeatureViews } = await import('../packages/engine/src/model/classifier.ts');
const { buildHead } = await import('../packages/engine/src/model/head.ts');
const { trainClassifier } = await import('../packages/engine/src/model/train.ts');
const { normalizeAugmentPolicy } = await import('../packages/engine/src/data/augment/policy.ts');

for (const [dir, kind] of [['sample-steel', 'steel'], ['sample-tiles', 'small-defects']] as const)
  if (!existsSync(path.join(DATASETS, dir))) await generateSampleDataset(path.join(DATASETS, dir), { kind } as never);
const backend = await initBackend();
const lines: string[] = [machineHeader('Staged fine-tuning on the ONNX path (issue 16)')];
lines.push(`- backend: ${backend.name}; command: \`npx tsx bench/finetune.ts ${process.argv.slice(2).join(' ')}\``, '');
const s = (ms: number) => (ms / 1000).toFixed(1);

if (PARTS.has('epoch')) {
  const manifest = await loadDataset({ root: DATASETS, path: 'sample-steel' });
  const backbone = await loadBackbone({ inputSize: 160 });
  const frozen = await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2, headEpochs: 1, fineTuneLrFactor: 0.1 });
  const trainItems = manifest.items.filter((i) => i.split === 'train');
  const policy = normalizeAugmentPolicy({ copies: 1, seed: 42 });
  const t = performance.now();
  const parts = await boundaryFeatureViews(frozen, trainItems, null, [null, { policy, view: 0 }], { datasetSignature: manifest.signature });
  const extractMs = performance.now() - t;
  const n = parts.reduce((a, p) => a + p.n, 0);
  const shape = parts[0]?.shape as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * per);
  const y: number[] = [];
  for (const p of parts) {
    x.set(p.data, y.length * per);
    y.push(...(p.labels ?? []));
  }
  const k = manifest.classes.length;
  const copyBlocks = async () => (await freezeBackbone(backbone, { mode: 'staged', unfreezeBlocks: 2 })).trainable;
  const head = () => buildHead({ kind: 'spatial', filters: 128, pooling: 'max', dropout: 0.2, numClasses: k, inputShape: frozen.outputShape });
  const epochTimes = async (set: { x: Float32Array; y: number[] }, epochs: number, headEpochs: number, denseEngine: 'auto' | 'js') => {
    const times: number[] = [];
    let last = performance.now();
    const r = await trainClassifier({
      head: head(),
      trainable: await copyBlocks(),
      staged: { headEpochs, fineTuneLrFactor: 0.1 },
      train: { x: set.x, shape, y: set.y },
      numClasses: k,
      epochs,
      batchSize: 32,
      earlyStopping: false,
      restoreBest: false,
      denseEngine,
      onEpoch: () => {
        const now = performance.now();
        times.push(now - last);
        last = now;
      },
    });
    return { times, path: r.path, engine: r.stepEngine };
  };
  // 2 head-only epochs: the first includes the one pass of the blocks over the maps, the second is a head epoch alone.
  const full = await epochTimes({ x, y }, 4, 2, 'auto');
  const m = Math.min(AUTODIFF_IMAGES, n);
  const subset = { x: x.subarray(0, m * per), y: y.slice(0, m) };
  const ortSub = await epochTimes(subset, 1, 0, 'auto');
  const adSub = await epochTimes(subset, 1, 0, 'js');
  const perImage = (ms: number) => ms / m;
  lines.push(
    `### Per epoch: steel sample, 160 px, top 2 blocks (block_12 + block_13 expand, boundary block_11_add ${shape.join('×')}), spatial head 128, batch 32`,
    '',
    `${trainItems.length} training images + 1 augmented view each = ${n} maps; boundary maps extracted once in ${s(extractMs)} s (cached for later runs). Load at end: ${loadNow()}.`,
    '',
    '| path | what | time | per epoch of ' + n + ' views |',
    '|---|---|---|---|',
    `| ${full.path} (${full.engine}) | 1st head-only epoch (+ the blocks' one pass over the maps) | ${s(full.times[0] ?? 0)} s | ${s(full.times[0] ?? 0)} s |`,
    `| ${full.path} (${full.engine}) | 2nd head-only epoch (head steps on the blocks' output) | ${s(full.times[1] ?? 0)} s | ${s(full.times[1] ?? 0)} s |`,
    `| ${full.path} (${full.engine}) | fine-tune epochs (blocks + head backward) | ${full.times.slice(2).map(s).join(' s, ')} s | ${s(Math.min(...full.times.slice(2)))} s |`,
    `| ${ortSub.path} (${ortSub.engine}) | 1 fine-tune epoch on ${m} views | ${s(ortSub.times[0] ?? 0)} s | ${s(perImage(ortSub.times[0] ?? 0) * n)} s (extrapolated) |`,
    `| ${adSub.path} (${adSub.engine} ${backend.name}) | 1 fine-tune epoch on ${m} views | ${s(adSub.times[0] ?? 0)} s | ${s(perImage(adSub.times[0] ?? 0) * n)} s (extrapolated ×${(n / m).toFixed(1)}) |`,
    '',
  );
  console.error(lines.slice(-10).join('\n'));
}

if (PARTS.has('template')) {
  const { execute, MemoryOutputCache } = await import('../packages/nodes/src/runtime/index.ts');
  const graph0 = JSON.parse(readFileSync(path.join(ROOT, 'examples/default-pipeline.json'), 'utf8'));
  const withParams = (g: typeof graph0, type: string, params: Record<string, unknown>) => ({
    ...g,
    nodes: g.nodes.map((nd: { type: string; params: object }) => (nd.type === type ? { ...nd, params: { ...nd.params, ...params } } : nd)),
  });
  const rows: string[] = [];
  let n = 0;
  for (const dataset of ['sample-steel', 'sample-tiles']) {
    for (const mode of MODES) {
      let g = withParams(graph0, 'dataset', { path: dataset });
      if (mode === 'staged') {
        g = withParams(g, 'freeze', { mode: 'staged', unfreezeBlocks: 2, headEpochs: 5 });
        g = withParams(g, 'train', { epochs: 10, earlyStopping: false });
      }
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'df-ft-'));
      const runId = `ft-${++n}`;
      let accuracy: number | null = null;
      let trainSummary: Record<string, unknown> = {};
      const t0 = performance.now();
      const r = await execute({
        runId,
        graph: g as never,
        cache: new MemoryOutputCache(),
        backend: { name: backend.name, device: backend.device },
        dirs: { dataDir, datasetsRoot: DATASETS, runDir: path.join(dataDir, 'runs', runId), modelsDir: path.join(dataDir, 'models'), cacheDir: path.join(dataDir, 'cache') },
        sink: (e) => {
          if (e.type === 'node.finished' && e.nodeType === 'evaluate') accuracy = (e.summary as { accuracy?: number } | undefined)?.accuracy ?? null;
          if (e.type === 'node.finished' && e.nodeType === 'train') trainSummary = (e.summary ?? {}) as Record<string, unknown>;
        },
      });
      const ms = performance.now() - t0;
      rmSync(dataDir, { recursive: true, force: true });
      const row = `| ${dataset} | ${mode === 'frozen' ? 'frozen (template as shipped)' : 'staged: 2 blocks, 5 head + 5 fine-tune epochs'} | ${r.status} | ${s(ms)} | ${s(r.timings.train ?? 0)} | ${trainSummary.path ?? '?'} / ${trainSummary.engine ?? '?'} | ${trainSummary.epochs ?? '?'} | ${accuracy === null ? '?' : (accuracy as number).toFixed(3)} | ${loadNow()} |`;
      rows.push(row);
      console.error(row);
    }
  }
  lines.push(
    '### Default template from Run to exported model (fresh caches each)',
    '',
    '| dataset | freeze | status | wall (s) | train node (s) | path / engine | epochs | test accuracy | load after |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
  );
}
console.log(lines.join('\n'));
