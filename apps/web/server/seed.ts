/**
 * First-start data, applied on every start and idempotent: the sample product line, its default template
 * (examples/default-pipeline.json), a pipeline made from it, and the synthetic sample dataset — generated
 * in the background so the server listens at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Repositories } from '@defectflow/db';
import { createDefaultPipeline, type PipelineGraph, PipelineGraphSchema } from '@defectflow/nodes';
import { errorMessage, type Logger } from './log.ts';

export const SAMPLE_PRODUCT_LINE = 'Hot-rolled steel strip';
export const SAMPLE_TEMPLATE = 'Default transfer (MobileNetV2)';
export const SAMPLE_PIPELINE = 'Sample steel — default transfer';
export const SAMPLE_DATASET = 'sample-steel';

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

export async function seedDatabase(repo: Repositories, repoRoot: string, log: Logger): Promise<SeedResult> {
  const line =
    (await repo.productLines.list()).find((p) => p.name === SAMPLE_PRODUCT_LINE) ??
    (await repo.productLines.create(SAMPLE_PRODUCT_LINE, 'Surface defects of hot-rolled steel (NEU-style sample data)'));

  let template = (await repo.templates.list(line.id)).find((t) => t.name === SAMPLE_TEMPLATE);
  if (!template) {
    const graph = loadDefaultGraph(repoRoot, log);
    const saved = await repo.templates.save({
      productLineId: line.id,
      name: SAMPLE_TEMPLATE,
      description: 'MobileNetV2 backbone, frozen, with a small classifier head; evaluated and deployed.',
      graph,
      message: 'Seeded from examples/default-pipeline.json',
    });
    template = { ...saved.template, latestVersion: saved.version };
    log.info(`seeded template "${SAMPLE_TEMPLATE}"`);
  }

  let pipeline = (await repo.pipelines.list(line.id)).find((p) => p.templateId === template.id);
  if (!pipeline && template.latestVersion) {
    pipeline = await repo.pipelines.save({
      productLineId: line.id,
      name: SAMPLE_PIPELINE,
      graph: template.latestVersion.graph,
      templateId: template.id,
      templateVersionId: template.latestVersion.id,
    });
    log.info(`seeded pipeline "${SAMPLE_PIPELINE}"`);
  }
  return { productLineId: line.id, templateId: template.id, pipelineId: pipeline?.id ?? '' };
}

type GenerateFn = (
  dir: string,
  options?: { onProgress?: (done: number, total: number) => void; signal?: AbortSignal },
) => Promise<{ files: number }>;

/**
 * Generates DATASETS_ROOT/sample-steel when missing. Resolves when done (or skipped); never throws —
 * the server runs without the sample, and a missing engine is a logged warning.
 */
export async function ensureSampleDataset(
  repo: Repositories,
  datasetsRoot: string,
  log: Logger,
  signal?: AbortSignal,
): Promise<'exists' | 'generated' | 'skipped'> {
  const dir = join(datasetsRoot, SAMPLE_DATASET);
  try {
    if (existsSync(dir)) {
      await repo.datasets.upsert({ name: SAMPLE_DATASET, path: SAMPLE_DATASET });
      return 'exists';
    }
    let generate: GenerateFn | undefined;
    try {
      // Loaded lazily: the engine pulls in image libraries the web server otherwise never needs.
      const engine = (await import('@defectflow/engine')) as { generateSampleDataset?: GenerateFn };
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
      signal,
      onProgress: (done, total) => {
        const pct = Math.floor((done / Math.max(total, 1)) * 10) * 10;
        if (pct > lastPct) {
          lastPct = pct;
          log.info(`sample dataset: ${pct}% (${done}/${total} images)`);
        }
      },
    });
    await repo.datasets.upsert({ name: SAMPLE_DATASET, path: SAMPLE_DATASET });
    log.info(`sample dataset ready: ${result.files} images in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return 'generated';
  } catch (err) {
    if (signal?.aborted) return 'skipped';
    log.error(`sample dataset generation failed: ${errorMessage(err)}`);
    return 'skipped';
  }
}
