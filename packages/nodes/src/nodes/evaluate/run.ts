import { promises as fs } from 'node:fs';
import { type EvaluateOptions, evaluateClassifier, predictDatasetItems, resolveInsideRoot } from '@defectflow/engine';
import type { EvaluateParams } from './definition.ts';
import { NodeError, type NodeRunFn } from '../../runtime/types.ts';
import {
  type MetricsValue,
  asNodeError,
  ensureBackend,
  featureCache,
  input,
  isDataset,
  isTrained,
  pct,
} from '../../runtime/run-helpers.ts';

export const runEvaluate: NodeRunFn<EvaluateParams> = async (inputs, params, ctx) => {
  // Before any work. Ids are checked by the graph schema; this holds even for a graph that never went through it.
  const metricsFile = resolveInsideRoot(ctx.dirs.runDir, `metrics-${ctx.nodeId}.json`);
  await ensureBackend();
  const trained = input(inputs, 'trained', isTrained);
  const dataset = input(inputs, 'dataset', isDataset);
  const { split } = params;
  const { manifest } = dataset;
  if (manifest.classes.join('\n') !== trained.classes.join('\n'))
    throw new NodeError('class_mismatch', `dataset classes (${manifest.classes.join(', ')}) differ from the trained model's (${trained.classes.join(', ')})`);
  const items = manifest.items.filter((i) => i.split === split);
  if (items.length === 0) throw new NodeError('empty_split', `the dataset has no "${split}" images to evaluate on (raise its ${split}Ratio)`);
  try {
    // Images that no longer decode are skipped with a warning (too many fail the node, naming them).
    const predicted = await predictDatasetItems(trained, items, {
      cache: featureCache(ctx),
      cacheOwner: ctx.runId,
      maxPixels: ctx.limits?.imageMaxPixels,
      datasetSignature: manifest.signature,
      signal: ctx.signal,
      split,
      warn: (m) => ctx.log('warn', m),
      onProgress: (phase, done, total, etaMs) => ctx.progress(phase, done, total, etaMs),
    });
    const metrics = await evaluateClassifier({
      items: predicted.items.map((i) => ({ id: i.id, label: i.label })),
      classes: manifest.classes,
      goodClass: params.goodClass || undefined,
      trainCounts: manifest.classes.map((_c, j) => manifest.items.filter((i) => i.split === 'train' && i.label === j).length),
      operatingPoint: operatingPointParam(params),
      predictProbs: () => predicted.probs,
    });
    const value: MetricsValue = { ...metrics, split };
    if (metrics.baselineVerdict.warning) ctx.log('warn', metrics.baselineVerdict.warning);
    if (metrics.operatingPoint) {
      const op = metrics.operatingPoint;
      ctx.log('info', `operating point ${op.mode} ${op.target}: defect score ≥ ${op.threshold.toFixed(4)} → defect; caught ${op.binary.caught}, missed ${op.binary.missed}, good flagged ${op.binary.flagged} of ${op.binary.flagged + op.binary.passed}`);
    }
    // The full report (with per-image predictions) also goes to the run folder.
    await fs.mkdir(ctx.dirs.runDir, { recursive: true });
    await fs.writeFile(metricsFile, JSON.stringify(value));
    return {
      outputs: { metrics: value },
      summary: {
        split,
        images: metrics.count,
        skippedImages: predicted.skipped.length,
        accuracy: pct(metrics.accuracy),
        macroF1: pct(metrics.macroF1),
        auroc: pct(metrics.roc?.auroc),
        goodClass: metrics.roc?.goodClass ?? null,
        baselineClass: metrics.baseline.className,
        baselineAccuracy: pct(metrics.baseline.accuracy),
        baselineMacroF1: pct(metrics.baseline.macroF1),
        baselineWarning: metrics.baselineVerdict.warning,
        threshold: metrics.operatingPoint?.threshold ?? null,
        defectRecall: pct(metrics.operatingPoint?.defectRecall),
        falseAlarmRate: pct(metrics.operatingPoint?.falseAlarmRate),
      },
    };
  } catch (err) {
    throw asNodeError(err, 'evaluate_failed');
  }
};

/** The evaluate params' operating point as the engine takes it (the target of the chosen mode). */
function operatingPointParam(params: EvaluateParams): EvaluateOptions['operatingPoint'] {
  const mode = params.operatingMode;
  if (mode === 'argmax') return undefined;
  return { mode, target: mode === 'defect-recall' ? params.targetRecall : params.maxFalseAlarm };
}
