/**
 * A runner in cluster mode (REDIS_URL): a BullMQ worker on the run queue(s) that hands each job to the runner's
 * own RunQueue, publishes the run's events to Redis (event-publisher.ts), announces itself every few seconds
 * (heartbeat with a TTL), and listens for cancels.
 *
 * A runner that dies mid-run stops renewing its job lock; another runner's stalled check moves the job back to
 * the queue and the runner that picks it up sees `attempts` > 1: it ends the run `interrupted`, naming the dead
 * runner — or, when the user asked for it (`retryOnLoss`), runs it once more, continuing the event numbering.
 * Two attempts never write events at the same time: each append carries the attempt's holder token (fencing).
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { type PipelineGraph, type RunEvent, type RunStatus, validateGraph } from '@defectflow/nodes';
import { type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { EventLog } from '../event-log.ts';
import type { RunQueue } from '../queue.ts';
import { EventPublisher } from './event-publisher.ts';
import {
  appendEvent,
  CANCEL_CHANNEL,
  GPU_RUN_QUEUE,
  PREDICT_QUEUE,
  RUN_QUEUE,
  type RunJobData,
  type RunnerHeartbeat,
  RUNNERS_SET,
  runKeys,
  runnerKey,
} from './protocol.ts';

export interface ClusterWorkerOptions {
  redisUrl: string;
  runnerId: string;
  version: string;
  backend: { name: string; device: string };
  concurrency: number;
  queue: RunQueue;
  eventLog: EventLog;
  /** BullMQ job lock (RUNNER_LOCK_MS): a dead runner's run is noticed this long after its last renewal. */
  lockMs: number;
  /** How often this worker looks for stalled jobs (RUNNER_STALLED_CHECK_MS). */
  stalledCheckMs: number;
  /** Uploads an event's files before it is published (evaluate metrics, deploy model folders). */
  beforeAppend?: (event: RunEvent) => Promise<void>;
  /** Makes what the graph reads available locally (datasets from the store); throwing fails the run. */
  prepareRun?: (graph: PipelineGraph, runId: string) => Promise<void>;
  /**
   * Answers a df-predict job by its name ('predict', 'cutPoints', 'measure'); absent: this runner serves no
   * predictions. A thrown error travels back as `{ error: { name, message } }`, so the web server can tell busy from bad input.
   */
  serve?: (name: string, data: unknown) => Promise<unknown>;
  log: (message: string) => void;
}

export interface ClusterWorker {
  queues: string[];
  close(): Promise<void>;
}

const HEARTBEAT_MS = 3000;
const HEARTBEAT_TTL_S = 10;

/** A Redis connection as BullMQ workers need it (blocking commands never time out client-side). */
export function connectRedis(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

export async function startClusterWorker(opts: ClusterWorkerOptions): Promise<ClusterWorker> {
  const { queue, eventLog, runnerId, log } = opts;
  const redis = connectRedis(opts.redisUrl);
  const subscriber = redis.duplicate();
  const publisher = new EventPublisher({
    redis,
    beforeAppend: opts.beforeAppend,
    onFenced: (runId) => queue.abort(runId, `Another runner took this run over (runner ${runnerId} lost its job lock)`),
    log,
  });
  const finishWaiters = new Map<string, (status: RunStatus) => void>();
  const offEvents = eventLog.onEvent((event) => {
    publisher.publish(event);
    if (event.type === 'run.finished') finishWaiters.get(event.runId)?.(event.status);
  });

  /** The ending of a run this runner never computes (lost earlier holder, cancelled while queued). */
  const endWithout = async (runId: string, status: RunStatus, error?: string) => {
    await appendEvent(redis, runId, { type: 'run.finished', status, durationMs: 0, ...(error ? { error } : {}) });
    return { status };
  };

  const processRun = async (job: Job<RunJobData>) => {
    const { runId, graph, retryOnLoss } = job.data;
    const k = runKeys(runId);
    if (await redis.exists(k.done)) return { status: 'finished-before' };
    if (await redis.exists(k.cancel)) return endWithout(runId, 'cancelled');
    const attempt = await redis.incr(k.attempts);
    if (attempt > 1) {
      const previous = (await redis.get(k.runner)) ?? 'unknown';
      if (!retryOnLoss || attempt > 2) {
        const why = retryOnLoss ? ' and its one retry was lost too' : '';
        log(`run ${runId}: runner ${previous} died holding it${why}; ending it interrupted`);
        return endWithout(runId, 'interrupted', `Interrupted: runner ${previous} stopped while it held the run${why}; start it again`);
      }
      log(`run ${runId}: runner ${previous} died holding it; running it again here (retry once was asked for)`);
    }
    const holder = `${runnerId}:${randomUUID()}`;
    await redis.multi().set(k.holder, holder).set(k.runner, runnerId).exec();
    const lastSeq = Number((await redis.get(k.seq)) ?? 0);
    eventLog.continueRun(runId, lastSeq);
    publisher.hold(runId, holder);
    queue.forget(runId);
    const finished = new Promise<RunStatus>((resolve) => finishWaiters.set(runId, resolve));
    try {
      const fail = (error: string) => eventLog.append(runId, { type: 'run.finished', status: 'failed', error, durationMs: 0 });
      const validation = validateGraph(graph);
      if (!validation.ok || !validation.graph) {
        fail(`The runner refused the run: ${validation.errors.map((e) => e.message).join('; ')}`);
      } else {
        let prepared = true;
        try {
          await opts.prepareRun?.(validation.graph, runId);
        } catch (err) {
          prepared = false;
          fail(`Runner ${runnerId} could not prepare the run's files: ${(err as Error).message}`);
        }
        if (prepared) {
          const accepted = queue.enqueue(runId, validation.graph, { resumed: true });
          if (!accepted.accepted) fail(accepted.message);
          // A cancel published between the check above and the enqueue reached nobody: look again.
          else if (await redis.exists(k.cancel)) queue.cancel(runId);
        }
      }
      const status = await finished;
      await publisher.flush(runId);
      return { status };
    } finally {
      finishWaiters.delete(runId);
      publisher.release(runId);
    }
  };

  const queues = opts.backend.device.toLowerCase().includes('gpu') ? [RUN_QUEUE, GPU_RUN_QUEUE] : [RUN_QUEUE];
  const workerOptions = {
    connection: redis,
    concurrency: opts.concurrency,
    lockDuration: opts.lockMs,
    stalledInterval: opts.stalledCheckMs,
    // Stall 1 and 2 come back so that a runner decides (interrupted, or the one retry); BullMQ fails it past that.
    maxStalledCount: 2,
    name: runnerId,
  };
  const workers = queues.map((name) => new Worker<RunJobData>(name, processRun, workerOptions));
  if (opts.serve) {
    const serve = opts.serve;
    const answer = async (job: Job) => {
      try {
        return { result: await serve(job.name, job.data) };
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        return { error: { name: e.name, message: e.message } };
      }
    };
    // Concurrency 2: a prediction waits in the runner's own predict queue (one worker thread), not behind a job lock.
    workers.push(new Worker(PREDICT_QUEUE, answer, { connection: redis, concurrency: 2, name: runnerId }));
  }
  for (const worker of workers) worker.on('error', (err) => log(`queue worker error: ${err.message}`));

  await subscriber.subscribe(CANCEL_CHANNEL);
  subscriber.on('message', (_channel: string, runId: string) => {
    if (queue.cancel(runId)) log(`run ${runId}: cancelled by request`);
  });

  const startedAt = Date.now();
  const beat = async () => {
    const memory = process.memoryUsage();
    const heartbeat: RunnerHeartbeat = {
      runnerId,
      host: os.hostname(),
      pid: process.pid,
      version: opts.version,
      backend: opts.backend.name,
      device: opts.backend.device,
      queues: opts.serve ? [...queues, PREDICT_QUEUE] : queues,
      concurrency: opts.concurrency,
      running: queue.runningIds,
      freeMemory: os.freemem(),
      rss: memory.rss,
      startedAt,
      ts: Date.now(),
    };
    await redis.multi().set(runnerKey(runnerId), JSON.stringify(heartbeat), 'EX', HEARTBEAT_TTL_S).sadd(RUNNERS_SET, runnerId).exec();
  };
  await beat();
  const timer = setInterval(() => void beat().catch(() => {}), HEARTBEAT_MS);
  timer.unref();
  log(`cluster mode: runner ${runnerId} takes runs from ${queues.join(', ')}${opts.serve ? ` and predictions from ${PREDICT_QUEUE}` : ''}`);

  let closing: Promise<void> | undefined;
  return {
    queues,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        // Stop taking jobs; the active ones end as the run queue shuts down (their run.finished is published).
        await Promise.all(workers.map((w) => w.close()));
        offEvents();
        await redis.del(runnerKey(runnerId)).catch(() => 0);
        subscriber.disconnect();
        await redis.quit().catch(() => undefined);
      })();
      return closing;
    },
  };
}
