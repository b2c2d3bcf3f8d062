/**
 * First-start data, applied on every start and idempotent: two sample product lines (steel textures and
 * small defects on magnetic tiles), each with its default template (examples/default-pipeline.json pointed at
 * its dataset), a pipeline made from it, and its synthetic sample dataset — generated in the background so
 * the server listens at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Repositories } from '@defectflow/db';
// Type only: the engine itself is loaded lazily below.
import type { SampleDatasetKind as SampleKind } from '@defectflow/engine/data';
import { createDefaultPipeline, type PipelineGraph, PipelineGraphSchema } from '@defectflow/nodes';
import { errorMessage, type Logger } from './log.ts';

export const SAMPLE_PRODUCT_LINE = 'Hot-rolled steel strip';
export const SAMPLE_TEMPLATE = 'Default transfer (MobileNetV2)';
export const SAMPLE_PIPELINE = 'Sample steel — default transfer';
export const SAMPLE_DATASET = 'sample-steel';

export const TILES_PRODUCT_LINE = 'Magnetic tile (small defects)';
export const TILES_TEMPLATE = 'Default transfer (MobileNetV2), small defects';
export const TILES_PIPELINE = 'Sample tiles — default transfer';
export const TILES_DATASET = 'sample-tiles';

interface SampleLine {
  productLine: string;
  productLineDescription: string;
  template: string;
  templateDescription: string;
  pipeline: string;
  dataset: string;
  kind: SampleKind;
}

/** The seeded product lines, each with the generator kind of its sample dataset. */
export const SAMPLE_LINES: readonly SampleLine[] = [
  {
    productLine: SAMPLE_PRODUCT_LINE,
    productLineDescription: 'Surface defects of hot-rolled steel (NEU-style sample data)',
    template: SAMPLE_TEMPLATE,
    templateDescription: 'MobileNetV2 backbone, frozen, with a small classifier head; evaluated and deployed.',
    pipeline: SAMPLE_PIPELINE,
    dataset: SAMPLE_DATASET,
    kind: 'steel',
  },
  {
    productLine: TILES_PRODUCT_LINE,
    productLineDescription: 'Small local defects on magnetic tiles, mostly good parts (magnetic-tile-style sample data)',
    template: TILES_TEMPLATE,
    templateDescription: 'The default pipeline on the small-defects sample: ~70 % good images, defects covering 1–5 % of a part.',
    pipeline: TILES_PIPELINE,
    dataset: TILES_DATASET,
    kind: 'small-defects',
  },
];

/** The committed example graph; the built-in default if the file is missing or unreadable. */
export function loadDefaultGraph(repoRoot: string, log?: Logger): PipelineGraph {
  const file = join(repoRoot, 'examples/default-pipeline.json');
  try {
    return PipelineGraphSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    log?.warn(`${file} unreadable (${errorMessage(err)}); seeding the built-in default pipeline`);
    return createDefaultPipeline();
  }
}

export interface SeedResult {
  productLineId: string;
  templateId: string;
  pipelineId: string;
}

/** The steel line's ids (as before), plus every seeded line's by product line name. */
export async function seedDatabase(repo: Repositories, repoRoot: string, log: Logger): Promise<SeedResult & { lines: Record<string, SeedResult> }> {
  const lines: Record<string, SeedResult> = {};
  for (const sample of SAMPLE_LINES) lines[sample.productLine] = await seedLine(repo, repoRoot, log, sample);
  return { ...(lines[SAMPLE_PRODUCT_LINE] as SeedResult), lines };
}

/** The default graph with every dataset node reading `dataset`. */
function graphFor(repoRoot: string, dataset: string, log: Logger): PipelineGraph {
  const graph = loadDefaultGraph(repoRoot, log);
  return { ...graph, nodes: graph.nodes.map((n) => (n.type === 'dataset' ? { ...n, params: { ...n.params, path: dataset } } : n)) };
}

async function seedLine(repo: Repositories, repoRoot: string, log: Logger, sample: SampleLine): Promise<SeedResult> {
  const line =
    (await repo.productLines.list()).find((p) => p.name === sample.productLine) ??
    (await repo.productLines.create(sample.productLine, sample.productLineDescription));

  let template = (await repo.templates.list(line.id)).find((t) => t.name === sample.template);
  if (!template) {
    const saved = await repo.templates.save({
      productLineId: line.id,
      name: sample.template,
      description: sample.templateDescription,
      graph: graphFor(repoRoot, sample.dataset, log),
      message: `Seeded from examples/default-pipeline.json (dataset ${sample.dataset})`,
    });
    template = { ...saved.template, latestVersion: saved.version };
    log.info(`seeded template "${sample.template}"`);
  }

  let pipeline = (await repo.pipelines.list(line.id)).find((p) => p.templateId === template.id);
  if (!pipeline && template.latestVersion) {
    pipeline = await repo.pipelines.save({
      productLineId: line.id,
      name: sample.pipeline,
      graph: template.latestVersion.graph,
      templateId: template.id,
      templateVersionId: template.latestVersion.id,
    });
    log.info(`seeded pipeline "${sample.pipeline}"`);
  }
  return { productLineId: line.id, templateId: template.id, pipelineId: pipeline?.id ?? '' };
}

type GenerateFn = (
  dir: string,
  options?: { kind?: SampleKind; onProgress?: (done: number, total: number) => void; signal?: AbortSignal },
) => Promise<{ files: number }>;

type EnsureResult = 'exists' | 'generated' | 'skipped';

/** Every sample line's dataset, one after another (they share the two cores); never throws. */
export async function ensureSampleDatasets(
  repo: Repositories,
  datasetsRoot: string,
  log: Logger,
  signal?: AbortSignal,
  /** Cluster mode (STORAGE_URL set): publishes each sample dataset for runners on other machines; a failure is logged. */
  publish?: (name: string) => Promise<void>,
): Promise<Record<string, EnsureResult>> {
  const results: Record<string, EnsureResult> = {};
  for (const sample of SAMPLE_LINES) {
    const result = await ensureSampleDataset(repo, datasetsRoot, log, signal, sample);
    results[sample.dataset] = result;
    if (publish && (result === 'exists' || result === 'generated') && !signal?.aborted) {
      await publish(sample.dataset).catch((err: unknown) => log.warn(errorMessage(err)));
    }
  }
  return results;
}

/**
 * Generates DATASETS_ROOT/<sample dataset> (sample-steel by default) when missing. Resolves when done
 * (or skipped); never throws — the server runs without the sample, and a missing engine is a logged warning.
 */
export async function ensureSampleDataset(
  repo: Repositories,
  datasetsRoot: string,
  log: Logger,
  signal?: AbortSignal,
  sample: Pick<SampleLine, 'dataset' | 'kind'> = { dataset: SAMPLE_DATASET, kind: 'steel' },
): Promise<EnsureResult> {
  const name = sample.dataset;
  const dir = join(datasetsRoot, name);
  try {
    if (existsSync(dir)) {
      await repo.datasets.upsert({ name, path: name });
      return 'exists';
    }
    let generate: GenerateFn | undefined;
    try {
      // The engine's data entry (sharp only, no TensorFlow.js / ONNX Runtime), loaded lazily: first start only.
      const engine = (await import('@defectflow/engine/data')) as { generateSampleDataset?: GenerateFn };
      generate = engine.generateSampleDataset;
    } catch (err) {
      log.warn(`sample dataset skipped: the engine could not be loaded (${errorMessage(err)})`);
      return 'skipped';
    }
    if (!generate) {
      log.warn('sample dataset skipped: this engine build has no generateSampleDataset');
      return 'skipped';
    }
    log.info(`generating the sample dataset in ${dir} (first start only)…`);
    let lastPct = -1;
    const started = Date.now();
    const result = await generate(dir, {
      kind: sample.kind,
      signal,
      onProgress: (done, total) => {
        const pct = Math.floor((done / Math.max(total, 1)) * 10) * 10;
        if (pct > lastPct) {
          lastPct = pct;
          log.info(`sample dataset ${name}: ${pct}% (${done}/${total} images)`);
        }
      },
    });
    await repo.datasets.upsert({ name, path: name });
    log.info(`sample dataset ${name} ready: ${result.files} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 'generated';
  } catch (err) {
    if (signal?.aborted) return 'skipped';
    log.error(`sample dataset ${name}: generation failed: ${errorMessage(err)}`);
    return 'skipped';
  }
}
