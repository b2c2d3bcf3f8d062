/**
 * One prediction request with a deployed model, as the prediction API and the model page make it: the images go
 * through the prediction worker (predict.ts; never the event loop), each answered image becomes a prediction log
 * row. A log that cannot be written does not fail the answer: it is logged as a warning.
 */
import type { Model, PredictionRow, PredictionSource } from '@defectflow/db';
import { errorMessage } from '../log.ts';
import { modelDirInside } from '../paths.ts';
import type { DecisionCall, DriftCall, Prediction, PredictFn, PredictImage } from '../trpc.ts';
import type { PredictionLog } from './log.ts';

export interface PredictionServiceDeps {
  predict: PredictFn;
  predictionLog: PredictionLog;
  modelsDir: string;
}

export interface LoggedPredictions {
  /** The worker's answer per image, in order. */
  predictions: Prediction[];
  /** The log row of each answered image (null for an image that got an error, or when logging failed). */
  rows: Array<PredictionRow | null>;
  /** From handing the images to the prediction queue to its answer (queue wait included; a batch shares it). */
  latencyMs: number;
}

/** Predicts `images` with `model` and logs every answered image. Throws what predict throws (busy, too many). */
export async function predictAndLog(
  deps: PredictionServiceDeps,
  model: Model,
  images: PredictImage[],
  ctx: { source: PredictionSource; tokenId?: string | null },
): Promise<LoggedPredictions> {
  // Outside the models dir: PathOutsideRootError naming the model, before anything is loaded.
  const dir = modelDirInside(deps.modelsDir, model);
  const started = performance.now();
  const predictions = await deps.predict(dir, images, { modelId: model.id });
  const latencyMs = performance.now() - started;
  const answered: number[] = [];
  predictions.forEach((p, k) => {
    if (p.error === undefined) answered.push(k);
  });
  const rows: Array<PredictionRow | null> = predictions.map(() => null);
  try {
    const stored = await deps.predictionLog.record(
      answered.map((k) => {
        const p = predictions[k] as Extract<Prediction, { label: string }>;
        return {
          name: p.name,
          data: images[k]?.data ?? new Uint8Array(0),
          label: p.label,
          confidence: p.confidence,
          probabilities: p.scores,
          latencyMs,
          ...(p.drift ? { drift: { score: p.drift.score, drifted: p.drift.drifted } } : {}),
        };
      }),
      { model, source: ctx.source, tokenId: ctx.tokenId },
    );
    answered.forEach((k, i) => {
      rows[k] = stored[i] ?? null;
    });
  } catch (err) {
    deps.predictionLog.options.log.warn(`prediction log: ${answered.length} prediction(s) of model ${model.id} not stored: ${errorMessage(err)}`);
  }
  return { predictions, rows, latencyMs };
}

/** The model as a prediction names it. */
export interface ModelRef {
  id: string;
  name: string;
  version: number;
  stage: Model['stage'];
}

/** One image in the prediction API's answer (see openapi.ts `ImagePrediction`). */
export type ApiImagePrediction =
  | {
      id: string | null;
      name: string;
      class: string;
      confidence: number;
      probabilities: Record<string, number>;
      lowConfidence: boolean;
      decision: DecisionCall | null;
      /** Input drift (null when the model has no drift reference). */
      drift: DriftCall | null;
      model: ModelRef;
      latencyMs: number;
    }
  | { name: string; error: string; model: ModelRef };

export function modelRef(model: Model): ModelRef {
  return { id: model.id, name: model.name, version: model.version, stage: model.stage };
}

/** The worker's answers in the API's shape. */
export function apiPredictions(model: Model, result: LoggedPredictions, lowConfidence: number): ApiImagePrediction[] {
  const ref = modelRef(model);
  const latencyMs = Math.round(result.latencyMs * 10) / 10;
  return result.predictions.map((p, k) =>
    p.error !== undefined
      ? { name: p.name, error: p.error, model: ref }
      : {
          id: result.rows[k]?.id ?? null,
          name: p.name,
          class: p.label,
          confidence: p.confidence,
          probabilities: p.scores,
          lowConfidence: p.confidence < lowConfidence,
          decision: p.decision ?? null,
          drift: p.drift ?? null,
          model: ref,
          latencyMs,
        },
  );
}
