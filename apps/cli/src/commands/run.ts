import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { type Metrics, type SampleDatasetKind, generateSampleDataset } from '@defectflow/engine';
import { type PipelineGraph, type RunEventBody, parseGraphJson, validateGraph } from '@defectflow/nodes';
import { execute, MemoryOutputCache } from '@defectflow/nodes/runtime';
import { readCliEnv } from '../env.ts';
import { createProgressReporter } from '../progress.ts';
import { initCliBackend } from '../backend.ts';

/** The dataset name the examples use; the CLI generates it on first use so a fresh clone runs end to end. */
export const SAMPLE_DATASET = 'sample-steel';
/** Sample datasets the CLI generates on first use, by name (the web app seeds the same two). */
const SAMPLE_KINDS: Record<string, SampleDatasetKind> = { [SAMPLE_DATASET]: 'steel', 'sample-tiles': 'small-defects' };

export async function runCommand(opts: { file: string; dataset?: string; json: boolean }): Promise<number> {
  const env = readCliEnv();
  const text = await readFile(path.resolve(opts.file), 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new Error(`cannot read pipeline file ${opts.file}: ${error.code === 'ENOENT' ? 'no such file' : error.message}`);
  });
  const parsed = parseGraphJson(text);
  if (!parsed.ok) throw new Error(parsed.errors.map((e) => `${opts.file}: [${e.code}] ${e.message}`).join('\n'));

  let graph: PipelineGraph = parsed.graph;
  let datasetsRoot = env.datasetsRoot;
  if (opts.dataset) {
    // --dataset DIR: the folder's parent becomes the datasets root, so path checks still apply inside it.
    const dir = path.resolve(opts.dataset);
    if (!existsSync(dir)) throw new Error(`--dataset ${opts.dataset}: no such folder`);
    datasetsRoot = path.dirname(dir);
    graph = withDatasetPath(graph, path.basename(dir));
  }

  const validation = validateGraph(graph);
  if (!validation.ok) {
    for (const error of validation.errors) process.stderr.write(`${opts.file}: [${error.code}] ${error.message}\n`);
    return 2;
  }
  await ensureSampleDataset(graph, datasetsRoot);

  const backend = await initCliBackend(env.backend);
  const report = createProgressReporter();
  const events: RunEventBody[] = [];
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  const runId = `cli-${Date.now().toString(36)}`;
  const result = await execute({
    runId,
    graph,
    signal: controller.signal,
    backend,
    cache: new MemoryOutputCache(),
    dirs: {
      dataDir: env.dataDir,
      datasetsRoot,
      runDir: path.join(env.dataDir, 'runs', runId),
      modelsDir: path.join(env.dataDir, 'models'),
      cacheDir: path.join(env.dataDir, 'cache'),
    },
    sink: (event) => {
      events.push(event);
      report(event);
    },
  });
  process.off('SIGINT', onSigint);

  const summary = summarizeRun(graph, result, backend);
  for (const line of resultLines(summary)) process.stderr.write(`${line}\n`);
  if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  return result.status === 'succeeded' ? 0 : 1;
}

export function withDatasetPath(graph: PipelineGraph, datasetPath: string): PipelineGraph {
  return {
    ...graph,
    nodes: graph.nodes.map((node) => (node.type === 'dataset' ? { ...node, params: { ...node.params, path: datasetPath } } : node)),
  };
}

export async function ensureSampleDataset(graph: PipelineGraph, datasetsRoot: string): Promise<void> {
  for (const node of graph.nodes) {
    if (node.type !== 'dataset') continue;
    const name = String(node.params.path ?? SAMPLE_DATASET);
    const kind = SAMPLE_KINDS[name];
    const dir = path.join(datasetsRoot, name);
    if (!kind || existsSync(dir)) continue;
    process.stderr.write(`generating the synthetic sample dataset in ${dir} (first run only)…\n`);
    await generateSampleDataset(dir, { kind });
  }
}

type ExecuteResultLike = Awaited<ReturnType<typeof execute>>;

/** The --json document: what a script needs to gate on a run. */
export function summarizeRun(graph: PipelineGraph, result: ExecuteResultLike, backend: { name: string; device: string }) {
  const byType = (type: string) => graph.nodes.filter((n) => n.type === type).map((n) => n.id);
  const evaluateId = byType('evaluate').find((id) => result.outputs[id]);
  const metrics = evaluateId ? (result.outputs[evaluateId]?.metrics as Metrics | undefined) : undefined;
  const deployId = byType('deploy').find((id) => result.outputs[id]);
  return {
    status: result.status,
    error: result.failed ? { nodeId: result.failed.nodeId, code: result.failed.code, message: result.failed.message } : undefined,
    backend: backend.name,
    device: backend.device,
    metrics: metrics
      ? {
          accuracy: metrics.accuracy,
          macroF1: metrics.macroF1,
          classes: metrics.classes,
          perClass: metrics.perClass,
          confusion: metrics.confusion,
          auroc: metrics.roc?.auroc,
          baseline: metrics.baseline,
          beatsBaseline: metrics.baselineVerdict.clearlyBetter,
          baselineWarning: metrics.baselineVerdict.warning,
          operatingPoint: metrics.operatingPoint,
        }
      : null,
    deployment: deployId ? result.outputs[deployId]?.deployment ?? null : null,
    cached: result.cached,
    timingsMs: result.timings,
  };
}

const pctText = (v: number) => `${(v * 100).toFixed(1)} %`;

/** The human result on stderr: headline metrics beside the baseline, and the warning in words. */
export function resultLines(summary: ReturnType<typeof summarizeRun>): string[] {
  const m = summary.metrics;
  if (!m) return [];
  const b = m.baseline;
  const lines = [
    `result: accuracy ${pctText(m.accuracy)} (always '${b.className}': ${pctText(b.accuracy)}), macro-F1 ${pctText(m.macroF1)} (baseline ${pctText(b.macroF1)})`,
  ];
  const op = m.operatingPoint;
  if (op)
    lines.push(
      `operating point (${op.mode} ${op.target}): defect score ≥ ${op.threshold.toFixed(4)}; defects caught ${op.binary.caught}/${op.binary.caught + op.binary.missed}, good flagged ${op.binary.flagged}/${op.binary.flagged + op.binary.passed}`,
    );
  if (m.baselineWarning) lines.push(`WARNING: ${m.baselineWarning}`);
  return lines;
}
