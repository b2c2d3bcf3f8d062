import { promises as fs } from 'node:fs';
import path from 'node:path';
import { evaluateClassifier, predictItems } from '@defectflow/engine';
import { NodeError, type NodeRunFn } from '../types.ts';
import {
  type DatasetValue,
  type MetricsValue,
  type TrainedModelValue,
  asNodeError,
  ensureBackend,
  featureCache,
  input,
  isDataset,
  isTrained,
  pct,
} from './shared.ts';

export const runEvaluate: NodeRunFn = async (inputs, params, ctx) => {
  await ensureBackend();
  const trained = input<TrainedModelValue>(inputs, 'trained', isTrained);
  const dataset = input<DatasetValue>(inputs, 'dataset', isDataset);
  const split = (params.split ?? 'test') as 'test' | 'val';
  const { manifest } = dataset;
  if (manifest.classes.join('\n') !== trained.classes.join('\n'))
    throw new NodeError('class_mismatch', `dataset classes (${manifest.classes.join(', ')}) differ from the trained model's (${trained.classes.join(', ')})`);
  const items = manifest.items.filter((i) => i.split === split);
  if (items.length === 0) throw new NodeError('empty_split', `the dataset has no "${split}" images to evaluate on (raise its ${split}Ratio)`);
  try {
    const byId = new Map(items.map((i) => [i.id, i]));
    const metrics = await evaluateClassifier({
      items: items.map((i) => ({ id: i.id, label: i.label })),
      classes: manifest.classes,
      goodClass: (params.goodClass as string | undefined) || undefined,
      predictProbs: (evalItems) =>
        predictItems(
          trained,
          evalItems.map((e) => byId.get(e.id) as (typeof items)[number]),
          {
            cache: featureCache(ctx.dirs.cacheDir),
            datasetSignature: manifest.signature,
            signal: ctx.signal,
            onProgress: (phase, done, total, etaMs) => ctx.progress(phase, done, total, etaMs),
          },
        ),
    });
    const value: MetricsValue = { ...metrics, split };
    // The full report (with per-image predictions) also goes to the run folder.
    await fs.mkdir(ctx.dirs.runDir, { recursive: true });
    await fs.writeFile(path.join(ctx.dirs.runDir, `metrics-${ctx.nodeId}.json`), JSON.stringify(value));
    return {
      outputs: { metrics: value },
      summary: {
        split,
        images: metrics.count,
        accuracy: pct(metrics.accuracy),
        macroF1: pct(metrics.macroF1),
        auroc: pct(metrics.roc?.auroc),
        goodClass: metrics.roc?.goodClass ?? null,
      },
    };
  } catch (err) {
    throw asNodeError(err, 'evaluate_failed');
  }
};
