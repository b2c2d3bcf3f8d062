/**
 * Cluster mode's PredictTransport: a prediction (or a backbone inspection) is a job on the BullMQ queue `df-predict`;
 * whichever runner is free answers it with the same handler the runner's tRPC uses, and this server waits for the
 * job's result (QueueEvents). The runner returns a thrown error as `{ error: { name, message } }`, turned back
 * into the web's own errors here. No runner, or none answering within PREDICT_TIMEOUT_MS: PredictUnavailableError.
 */
import { PREDICT_QUEUE } from '@defectflow/runner/cluster-protocol';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { PredictBusyError, PredictInputError, PredictUnavailableError } from '../predict.ts';
import type { PredictTransport } from '../predict-transport.ts';

type Answer<T> = { result: T } | { error: { name: string; message: string } };

function asWebError(error: { name: string; message: string }): Error {
  if (error.name === 'PredictBusyError') return new PredictBusyError(error.message);
  if (error.name === 'PredictInputError' || error.name === 'PredictModelNotFoundError' || error.name === 'BackboneError') {
    return new PredictInputError(error.message);
  }
  return new Error(error.message);
}

export function queuePredictTransport(opts: { redis: Redis; timeoutMs: number; runnersAlive: () => number }): PredictTransport & {
  close(): Promise<void>;
} {
  const queue = new Queue(PREDICT_QUEUE, { connection: opts.redis });
  const events = new QueueEvents(PREDICT_QUEUE, { connection: opts.redis.duplicate() });
  const ask = async <T>(name: string, data: unknown, signal?: AbortSignal): Promise<T> => {
    if (opts.runnersAlive() === 0) throw new PredictUnavailableError('no runner is connected to the queue to predict; try again when one is up');
    // Results are small and read once; the job is removed as soon as it has been answered.
    const job = await queue.add(name, data, { removeOnComplete: { age: 60 }, removeOnFail: { age: 600 } });
    let answer: Answer<T>;
    try {
      const waiting = job.waitUntilFinished(events, opts.timeoutMs) as Promise<Answer<T>>;
      answer = signal
        ? await Promise.race([
            waiting,
            new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
          ])
        : await waiting;
    } catch (err) {
      if (signal?.aborted) throw err;
      await job.remove().catch(() => undefined); // not started yet: nobody should compute it any more
      const message = (err as Error).message ?? String(err);
      throw new PredictUnavailableError(
        /timed out|timeout/i.test(message)
          ? `no runner answered within ${opts.timeoutMs / 1000} s (PREDICT_TIMEOUT_MS); try again`
          : `the prediction failed on the runner (${message}); try again`,
      );
    }
    if ('error' in answer) throw asWebError(answer.error);
    return answer.result;
  };
  return {
    predict: (request, options) => ask('predict', request, options?.signal),
    cutPoints: (name) => ask('cutPoints', { name }),
    measure: (name, images) => ask('measure', { name, images }),
    async close() {
      await events.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
    },
  };
}
