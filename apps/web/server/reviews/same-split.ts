/**
 * The retrain comparison on one test split: the production model scored on exactly the images the retrain run's
 * evaluate node scored the retrained model on (the per-image predictions of its metrics), through the prediction
 * worker (never TF.js on this event loop), in batches of PREDICT_MAX_IMAGES. Both sides are scored by the engine's
 * labelScores, so the numbers differ only by the model.
 * Scoring runs in the background: the first ask answers "scoring" and starts it, later asks get the result, kept
 * as DATA_DIR/runs/<runId>/same-split-<modelId>.json (a run's split never changes), so polls and restarts never
 * recompute it.
 */
import { readFile } from 'node:fs/promises';
import type { Model, Repositories, Run } from '@defectflow/db';
import { type ClassScores, labelScores } from '@defectflow/engine/decision';
import { runImageFile } from '../http-files.ts';
import { errorMessage, type Logger } from '../log.ts';
import { modelDirInside } from '../paths.ts';
import { PredictBusyError } from '../predict.ts';
import { type ArtifactStore, localDirsStore, readStoredJson, runFileKey } from '../storage.ts';
import type { PredictFn, PredictImage } from '../trpc.ts';

export interface SplitScores {
  accuracy: number;
  macroF1: number;
  /** Recall and support per class of the split (a class the model cannot answer has recall 0). */
  perClass: Record<string, Pick<ClassScores, 'recall' | 'support'>>;
}

export interface SameSplitResult {
  runId: string;
  split: string;
  /** Images of the split (the retrain run's evaluated images). */
  images: number;
  classes: string[];
  candidate: SplitScores;
  production: SplitScores & { modelId: string; version: number };
  /** Images the production model could not be run on (file gone, unreadable): counted as wrong, named here. */
  failed: Array<{ id: string; error: string }>;
}

export type SameSplitState =
  | { state: 'scoring'; images: number }
  | ({ state: 'done' } & SameSplitResult)
  | { state: 'unavailable'; reason: string };

interface RunPrediction {
  id: string;
  trueLabel: string;
  predLabel: string;
}

/** A busy worker (PREDICT_MAX_QUEUE reached by API traffic) is asked again each second for this long. */
const BUSY_RETRY_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The retrain run's evaluated split from its stored metrics, or why there is none. */
export function evaluatedSplit(run: Run): { split: string; classes: string[]; predictions: RunPrediction[] } | string {
  const m = run.metrics !== null && typeof run.metrics === 'object' ? (run.metrics as Record<string, unknown>) : {};
  const predictions = Array.isArray(m.predictions) ? (m.predictions as unknown[]) : null;
  const ok = (p: unknown): p is RunPrediction =>
    !!p && typeof p === 'object' && ['id', 'trueLabel', 'predLabel'].every((k) => typeof (p as Record<string, unknown>)[k] === 'string');
  if (!predictions || predictions.length === 0 || !predictions.every(ok) || !Array.isArray(m.classes)) {
    return `run ${run.id} has no per-image evaluate predictions stored (an evaluate node's metrics file is read only when the runner shares this server's DATA_DIR)`;
  }
  return { split: typeof m.split === 'string' ? m.split : 'test', classes: (m.classes as unknown[]).map(String), predictions };
}

function splitScores(classes: string[], pairs: RunPrediction[]): SplitScores {
  const s = labelScores(classes, pairs);
  const perClass: SplitScores['perClass'] = {};
  for (const c of classes) perClass[c] = { recall: s.perClass[c]?.recall ?? 0, support: s.perClass[c]?.support ?? 0 };
  return { accuracy: s.accuracy, macroF1: s.macroF1, perClass };
}

export interface SameSplitOptions {
  repo: Repositories;
  datasetsRoot: string;
  modelsDir: string;
  /** DATA_DIR/runs: where the result is kept, next to the run's metrics files. */
  runsDir: string;
  /** Where the kept result is read and written (app.ts: the STORAGE_URL store); absent: runsDir itself. */
  store?: ArtifactStore;
  predict: PredictFn;
  /** Images per worker request (PREDICT_MAX_IMAGES). */
  batchSize: number;
  log: Logger;
}

export class SameSplitScorer {
  /** Scorings in progress, or failed and not reported yet (reported once, then forgotten: the next ask retries). */
  private readonly inFlight = new Map<string, { images: number; outcome: Promise<void>; error?: string }>();

  private readonly store: ArtifactStore;

  constructor(private readonly opts: SameSplitOptions) {
    this.store = opts.store ?? localDirsStore({ modelsDir: opts.modelsDir, runsDir: opts.runsDir });
  }

  /** `runs/<runId>/same-split-<modelId>.json` (ids name files: the graph schema keeps them to safe characters). */
  private key(runId: string, modelId: string): string {
    return runFileKey(encodeURIComponent(runId), `same-split-${encodeURIComponent(modelId)}.json`);
  }

  /** Where the comparison of `production` on `run`'s split stands; starts scoring it when nobody has yet. */
  async state(run: Run, production: Model): Promise<SameSplitState> {
    const split = evaluatedSplit(run);
    if (typeof split === 'string') return { state: 'unavailable', reason: split };
    const file = this.key(run.id, production.id);
    const kept = (await readStoredJson(this.store, file).catch(() => null)) as SameSplitResult | null;
    if (kept) return { state: 'done', ...kept };
    const key = `${run.id}\n${production.id}`;
    const entry = this.inFlight.get(key);
    if (entry?.error !== undefined) {
      this.inFlight.delete(key);
      return { state: 'unavailable', reason: entry.error };
    }
    if (entry) return { state: 'scoring', images: entry.images };
    const started = { images: split.predictions.length, outcome: Promise.resolve(), error: undefined as string | undefined };
    started.outcome = this.score(run, production, split).then(
      async (result) => {
        await this.store.put(file, JSON.stringify(result)); // whole or not at all
        this.inFlight.delete(key);
      },
      (err: unknown) => {
        started.error = `Scoring model ${production.id} on run ${run.id}'s ${split.split} split failed: ${errorMessage(err)}`;
        this.opts.log.warn(started.error);
      },
    );
    this.inFlight.set(key, started);
    return { state: 'scoring', images: started.images };
  }

  /** Waits for every scoring in progress (tests, shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.inFlight.values()].map((e) => e.outcome));
  }

  private async score(run: Run, production: Model, split: Exclude<ReturnType<typeof evaluatedSplit>, string>): Promise<SameSplitResult> {
    const dir = modelDirInside(this.opts.modelsDir, production);
    const produced: RunPrediction[] = [];
    const failed: SameSplitResult['failed'] = [];
    const batchSize = Math.max(1, this.opts.batchSize);
    for (let start = 0; start < split.predictions.length; start += batchSize) {
      const batch = split.predictions.slice(start, start + batchSize);
      const images: PredictImage[] = [];
      const sent: RunPrediction[] = [];
      for (const item of batch) {
        try {
          const file = await runImageFile(this.opts.repo, this.opts.datasetsRoot, run.id, item.id);
          images.push({ name: item.id, data: await readFile(file) });
          sent.push(item);
        } catch (err) {
          failed.push({ id: item.id, error: errorMessage(err) });
          produced.push({ ...item, predLabel: '' }); // no answer: wrong
        }
      }
      if (images.length === 0) continue;
      const answers = await this.predictWhenFree(dir, images, production.id);
      sent.forEach((item, k) => {
        const a = answers[k];
        if (a && a.error === undefined) produced.push({ ...item, predLabel: a.label });
        else {
          failed.push({ id: item.id, error: a?.error ?? 'the worker gave no answer' });
          produced.push({ ...item, predLabel: '' });
        }
      });
    }
    const classes = split.classes;
    // An image without an answer is a miss: '' is a column of its own in the production model's confusion.
    const prod = splitScores(classes, produced);
    return {
      runId: run.id,
      split: split.split,
      images: split.predictions.length,
      classes,
      candidate: splitScores(classes, split.predictions),
      production: { ...prod, modelId: production.id, version: production.version },
      failed,
    };
  }

  private async predictWhenFree(dir: string, images: PredictImage[], modelId: string) {
    const until = Date.now() + BUSY_RETRY_MS;
    for (;;) {
      try {
        return await this.opts.predict(dir, images, { modelId });
      } catch (err) {
        if (!(err instanceof PredictBusyError) || Date.now() > until) throw err;
        await sleep(1000);
      }
    }
  }
}
