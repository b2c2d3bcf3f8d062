/**
 * How the web server reaches the predicting runner. The web server holds no TensorFlow.js and no ONNX Runtime:
 * predictions, heat maps, ONNX cut points and throughput all run in a runner (apps/runner/src/predict/).
 * `PredictTransport` is that one seam; `trpcPredictTransport` is the implementation over the runner's
 * token-protected tRPC (the embedded runner child and RUNNER_URL alike). Cluster mode (REDIS_URL) implements the
 * same interface over the BullMQ queue `df-predict` (job data = PredictRequest, answered by the runner's
 * handlePredictRequest).
 *
 * Errors come back as the web's own: busy → PredictBusyError, a refused request → PredictInputError, a runner
 * that is down, restarting or silent past PREDICT_TIMEOUT_MS → PredictUnavailableError (never a hang).
 */
import type { BackboneInspection, BackboneMeasurement, PredictRequest, PredictResponse } from '@defectflow/runner/client';
import { createRunnerTrpc } from '@defectflow/runner/client';
import { TRPCClientError } from '@trpc/client';
import { PredictBusyError, PredictInputError, PredictUnavailableError } from './predict.ts';

export type { BackboneInspection, BackboneMeasurement, PredictRequest, PredictResponse };

export interface PredictTransport {
  /** One prediction request (images base64); rejects with PredictBusyError / PredictInputError / PredictUnavailableError. */
  predict(request: PredictRequest, options?: { signal?: AbortSignal }): Promise<PredictResponse>;
  /** Cut points, parameters and settings of `DATA_DIR/backbones/<name>` as the runner reads it. */
  cutPoints(name: string): Promise<BackboneInspection>;
  /** images/s of the backbone through ONNX Runtime on the runner's machine. */
  measure(name: string, images: number): Promise<BackboneMeasurement>;
}

/** The backbone half of the transport (the library page and the editor). */
export type BackboneInspector = Pick<PredictTransport, 'cutPoints' | 'measure'>;

export interface TrpcPredictTransportOptions {
  url: string;
  token: string;
  ca?: string;
  /** PREDICT_TIMEOUT_MS: a request not answered by then fails as unavailable. */
  timeoutMs: number;
}

/** A runner error as the web's own error: refusals keep their message, a missing runner says so. */
export function webPredictError(err: unknown, timeoutMs: number): Error {
  const name = (err as { name?: string })?.name;
  const cause = (err as { cause?: { name?: string; message?: string; cause?: { code?: string } } })?.cause;
  if (name === 'TimeoutError' || cause?.name === 'TimeoutError') {
    return new PredictUnavailableError(`the runner did not answer within ${timeoutMs / 1000} s (PREDICT_TIMEOUT_MS); try again`);
  }
  if (err instanceof TRPCClientError) {
    const code = (err.data as { code?: string } | undefined)?.code;
    if (code === 'TOO_MANY_REQUESTS') return new PredictBusyError(err.message);
    if (code === 'BAD_REQUEST' || code === 'NOT_FOUND') return new PredictInputError(err.message);
    if (!code || code === 'SERVICE_UNAVAILABLE') {
      // No tRPC answer at all: refused connection, reset, a proxy's 502/503 page.
      const why = cause?.cause?.code ?? cause?.message ?? err.message;
      return new PredictUnavailableError(`the runner is not reachable (${why}); try again`);
    }
    return new Error(err.message);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export function trpcPredictTransport(opts: TrpcPredictTransportOptions): PredictTransport {
  const trpc = createRunnerTrpc(opts);
  const call = async <T>(work: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> => {
    const signal = outer ? AbortSignal.any([outer, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs);
    try {
      return await work(signal);
    } catch (err) {
      if (outer?.aborted) throw outer.reason instanceof Error ? outer.reason : new Error(String(outer.reason));
      if (signal.aborted) throw webPredictError(signal.reason, opts.timeoutMs); // the timeout's TimeoutError
      throw webPredictError(err, opts.timeoutMs);
    }
  };
  return {
    // tRPC's inferred output drops `error?: undefined` from the Prediction union; the wire carries a PredictResponse.
    predict: (request, options) => call(async (signal) => (await trpc.predict.mutate(request, { signal })) as PredictResponse, options?.signal),
    cutPoints: (name) => call((signal) => trpc.backbones.cutPoints.query({ name }, { signal })),
    measure: (name, images) => call((signal) => trpc.backbones.measure.mutate({ name, images }, { signal })),
  };
}
