/**
 * The prediction contract between the web server and the runner (tRPC `predict`, and in cluster mode the
 * BullMQ queue `df-predict`: job data = PredictRequest). Plain JSON: image bytes travel as base64.
 */
import { z } from 'zod';

/** Where the spatial head looked (engine classActivationMap: values 0..1, row-major), or why there is no map. */
export type HeatMap =
  | { label: string; confidence: number; width: number; height: number; values: number[]; fit: 'stretch' | 'letterbox' }
  | { unavailable: string };

/** The model's defect-vs-good rule applied to one image (engine decision.ts); absent without an operating point. */
export interface DecisionCall {
  defect: boolean;
  defectScore: number;
  threshold: number;
  goodClass: string;
}

/** Input drift of one image (engine drift.ts); absent for a model without a drift reference. */
export interface DriftCall {
  score: number;
  threshold: number;
  drifted: boolean;
}

/** One image's answer: its class, or why this file could not be predicted (named by the user's file name). */
export type Prediction =
  | {
      name: string;
      label: string;
      confidence: number;
      scores: Record<string, number>;
      decision?: DecisionCall;
      drift?: DriftCall;
      heatmap?: HeatMap;
      error?: undefined;
    }
  | { name: string; error: string };

/** Model ids and folder names as the web server records them (one path segment or a relative path). */
const modelRef = z.string().min(1).max(500);

export const PredictRequestSchema = z.object({
  modelId: modelRef,
  /** The model's folder relative to the runner's DATA_DIR/models; default: the model id. */
  modelDir: modelRef.optional(),
  images: z
    .array(z.object({ name: z.string().min(1).max(255), data: z.string().max(2 ** 30) }))
    .min(1, 'send at least one image'),
  /** Add each prediction's class activation map (the heat map of the enlarged view). */
  heatmap: z.boolean().optional(),
});

export type PredictRequest = z.infer<typeof PredictRequestSchema>;

export interface PredictResponse {
  predictions: Prediction[];
}

/** The limits of one predicting runner (apps/runner/src/env.ts). */
export interface PredictLimits {
  /** Requests waiting or running (PREDICT_MAX_QUEUE). */
  maxQueue: number;
  /** Images per request (PREDICT_MAX_IMAGES). */
  maxImages: number;
  /** Bytes per image (PREDICT_MAX_IMAGE_BYTES). */
  maxImageBytes: number;
  /** Models kept loaded in the worker (PREDICT_MAX_MODELS). */
  maxModels: number;
  /** Pixels per decoded image (IMAGE_MAX_PIXELS). */
  maxPixels: number;
}

export const DEFAULT_PREDICT_LIMITS: PredictLimits = {
  maxQueue: 8,
  maxImages: 32,
  maxImageBytes: 20 * 1024 ** 2,
  maxModels: 3,
  maxPixels: 100_000_000,
};

/** The queue is full: TOO_MANY_REQUESTS over tRPC, 429 at the prediction API. */
export class PredictBusyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PredictBusyError';
  }
}

/** The request itself is wrong (too many images, a model folder outside the models folder): BAD_REQUEST. */
export class PredictInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PredictInputError';
  }
}

/** No such model folder on this runner (and `ensureModel` could not fetch it): NOT_FOUND. */
export class PredictModelNotFoundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PredictModelNotFoundError';
  }
}

export function formatMiB(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`;
}
