/**
 * The web server's side of cluster mode (REDIS_URL), as a RunnerLink: runs become BullMQ jobs that any runner
 * takes; events come back through the Redis stream `df:events`, read with the consumer group `web` (each event
 * goes to one web server, which persists it and relays it to every browser through socket.io's Redis adapter);
 * a run's own stream answers "events since seq n" for resyncs and gap filling.
 *
 * Exactly once into the database: an entry is acknowledged only after the bridge's attempt to store it (idempotent
 * on (run_id, seq)); a web server that restarts under the same WEB_ID reads its own pending entries first, and
 * entries left pending by a web server that never came back are claimed by the others after PENDING_CLAIM_MS.
 */
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import {
  appendEvent,
  CANCEL_CHANNEL,
  CONSUMER_GROUP,
  eventFromFields,
  EVENTS_STREAM,
  queueFor,
  readRunEvents,
  type RunJobData,
  type RunnerHeartbeat,
  RUNNERS_SET,
  runKeys,
  runnerKey,
  GPU_RUN_QUEUE,
  RUN_QUEUE,
} from '@defectflow/runner/cluster-protocol';
import { type Job, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { errorMessage } from '../log.ts';
import type { RunnerCapabilities, RunnerLink, RunnerStartResult, RunOptions } from '../runner-link.ts';

/** Entries another web server read but never acknowledged for this long are taken over. */
const PENDING_CLAIM_MS = 30_000;
const READ_BLOCK_MS = 2000;
const READ_COUNT = 200;
/** Priorities as BullMQ takes them (1 = first). */
export const RUN_PRIORITIES = { high: 1, normal: 5, low: 10 } as const;
export type RunPriority = keyof typeof RUN_PRIORITIES;

type StreamReply = Array<[string, Array<[string, string[]]>]> | null;

export interface RedisLinkOptions {
  redisUrl: string;
  /** This web server's consumer name (WEB_ID): the same after a restart, so it resumes its pending entries. */
  consumer: string;
  log: Logger;
  /** Test hook: claim other consumers' pending entries after this long (default 30 s). */
  claimAfterMs?: number;
}

export interface ClusterRunners {
  runners: RunnerHeartbeat[];
  /** Waiting run ids in the order runners will take them. */
  waiting: string[];
}

export interface RedisLink extends RunnerLink {
  /** The live runners and the queue (refreshed every 2 s; also what capabilities() reports). */
  cluster(): ClusterRunners;
  /** The command connection (socket.io's adapter gets its own duplicate). */
  readonly redis: Redis;
}

function connect(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

export function connectRedisLink(opts: RedisLinkOptions): RedisLink {
  const { log } = opts;
  const redis = connect(opts.redisUrl);
  const reader = redis.duplicate();
  const queues = { [RUN_QUEUE]: new Queue<RunJobData>(RUN_QUEUE, { connection: redis }), [GPU_RUN_QUEUE]: new Queue<RunJobData>(GPU_RUN_QUEUE, { connection: redis }) };
  const eventListeners = new Set<(event: RunEvent) => void | Promise<void>>();
  const statusListeners = new Set<(caps: RunnerCapabilities) => void>();
  const connectionListeners = new Set<(connected: boolean) => void>();
  let connected = false;
  let closed = false;
  let snapshot: ClusterRunners = { runners: [], waiting: [] };

  const setConnected = (c: boolean) => {
    if (c === connected) return;
    connected = c;
    for (const listener of connectionListeners) listener(c);
  };
  redis.on('ready', () => setConnected(true));
  redis.on('close', () => setConnected(false));
  redis.on('error', (err) => log.warn(`redis: ${err.message}`));

  const capabilitiesOf = (s: ClusterRunners): RunnerCapabilities => {
    const running = s.runners.flatMap((r) => r.running);
    const first = s.runners[0];
    return {
      version: first?.version ?? 'unknown',
      backend: s.runners.length ? [...new Set(s.runners.map((r) => r.backend))].join(', ') : 'no runner',
      device: s.runners.length ? [...new Set(s.runners.map((r) => r.device))].join(', ') : 'no runner',
      memory: { rss: s.runners.reduce((sum, r) => sum + r.rss, 0), heapUsed: 0 },
      busy: running.length > 0,
      queue: s.waiting,
      currentRunId: running[0] ?? null,
      running,
      concurrency: s.runners.reduce((sum, r) => sum + r.concurrency, 0),
      // No single runner: runs name theirs through run.started (runs.runner_id).
      runnerId: '',
    };
  };

  /** Waiting run ids in the order runners take them: job ids are run ids, so no job's data (its graph) is read. */
  const waitingRuns = async (): Promise<string[]> => {
    const waiting: string[] = [];
    for (const queue of Object.values(queues)) waiting.push(...(await queue.getRanges(['prioritized', 'wait'], 0, -1, true)));
    return waiting;
  };

  const refresh = async (): Promise<ClusterRunners> => {
    const ids = await redis.smembers(RUNNERS_SET);
    const values = ids.length ? await redis.mget(ids.map(runnerKey)) : [];
    const runners: RunnerHeartbeat[] = [];
    for (const value of values) {
      if (!value) continue;
      try {
        runners.push(JSON.parse(value) as RunnerHeartbeat);
      } catch {
        // a foreign value: ignore
      }
    }
    runners.sort((a, b) => a.runnerId.localeCompare(b.runnerId));
    snapshot = { runners, waiting: await waitingRuns() };
    return snapshot;
  };

  let lastJson = '';
  const statusTimer = setInterval(() => {
    if (!connected) return;
    refresh().then(
      (s) => {
        const caps = capabilitiesOf(s);
        const json = JSON.stringify({ caps, runners: s.runners.map((r) => ({ ...r, ts: 0, freeMemory: 0, rss: 0 })) });
        if (json === lastJson) return;
        lastJson = json;
        for (const listener of statusListeners) listener(caps);
      },
      (err: unknown) => log.warn(`cluster status: ${errorMessage(err)}`),
    );
  }, 2000);
  statusTimer.unref();

  // ---------------------------------------------------------------- event stream (consumer group)
  const deliver = async (entries: Array<[string, string[]]>): Promise<void> => {
    if (entries.length === 0) return;
    const ids: string[] = [];
    const events: RunEvent[] = [];
    for (const [id, fields] of entries) {
      ids.push(id);
      const event = fields ? eventFromFields(fields) : null; // a trimmed entry has no fields
      if (event) events.push(event);
    }
    // Stream order is seq order per run; the bridge stores them one after another in that order.
    const work: Array<void | Promise<void>> = [];
    for (const event of events) for (const listener of eventListeners) work.push(listener(event));
    await Promise.allSettled(work);
    await redis.xack(EVENTS_STREAM, CONSUMER_GROUP, ...ids);
  };

  const ensureGroup = async () => {
    try {
      // From the stream's start: a group created after runners wrote events still gets them (storing is idempotent).
      await reader.xgroup('CREATE', EVENTS_STREAM, CONSUMER_GROUP, '0', 'MKSTREAM');
    } catch (err) {
      if (!String((err as Error).message).includes('BUSYGROUP')) throw err;
    }
  };

  const consume = async () => {
    let pendingFirst = true;
    let lastClaim = 0;
    while (!closed) {
      try {
        if (pendingFirst) {
          await ensureGroup();
          // Our own pending entries (read before a restart, never acknowledged), then new ones.
          const own = (await reader.xreadgroup('GROUP', CONSUMER_GROUP, opts.consumer, 'COUNT', READ_COUNT, 'STREAMS', EVENTS_STREAM, '0')) as StreamReply;
          const entries = own?.[0]?.[1] ?? [];
          await deliver(entries);
          if (entries.length < READ_COUNT) pendingFirst = false;
          continue;
        }
        const claimAfter = opts.claimAfterMs ?? PENDING_CLAIM_MS;
        if (Date.now() - lastClaim > Math.min(claimAfter, 10_000)) {
          lastClaim = Date.now();
          const claimed = (await reader.xautoclaim(EVENTS_STREAM, CONSUMER_GROUP, opts.consumer, claimAfter, '0-0', 'COUNT', READ_COUNT)) as [string, Array<[string, string[]]>];
          if (claimed[1]?.length) log.info(`took over ${claimed[1].length} event(s) another web server read but did not store`);
          await deliver(claimed[1] ?? []);
        }
        const reply = (await reader.xreadgroup(
          'GROUP',
          CONSUMER_GROUP,
          opts.consumer,
          'COUNT',
          READ_COUNT,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          EVENTS_STREAM,
          '>',
        )) as StreamReply;
        await deliver(reply?.[0]?.[1] ?? []);
      } catch (err) {
        if (closed) return;
        log.warn(`reading run events from Redis failed, retrying: ${errorMessage(err)}`);
        pendingFirst = true;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  };
  let consuming: Promise<void> | null = null;

  return {
    url: opts.redisUrl.replace(/\/\/[^@/]*@/, '//***@'),
    redis,
    cluster: () => snapshot,
    async capabilities() {
      return capabilitiesOf(await refresh());
    },
    async start(runId: string, graph: PipelineGraph, options: RunOptions = {}): Promise<RunnerStartResult> {
      const name = queueFor(options.requires);
      const queue = queues[name as keyof typeof queues];
      await queue.add(
        'run',
        { runId, graph, retryOnLoss: options.retryOnLoss === true },
        {
          jobId: runId,
          priority: RUN_PRIORITIES[options.priority ?? 'normal'],
          // The run's record is the database; the job is only its place in line.
          removeOnComplete: { age: 3600, count: 1000 },
          removeOnFail: { age: 24 * 3600 },
        },
      );
      const waiting = await waitingRuns();
      const index = waiting.indexOf(runId);
      return { accepted: true, position: index === -1 ? 0 : index + 1 };
    },
    async cancel(runId: string) {
      const k = runKeys(runId);
      await redis.set(k.cancel, '1', 'EX', 24 * 3600); // until the run's ending expires it sooner
      await redis.publish(CANCEL_CHANNEL, runId);
      let job: Job<RunJobData> | undefined;
      for (const queue of Object.values(queues)) job ??= await queue.getJob(runId);
      if (!job) return { cancelled: false };
      const state = await job.getState();
      if (state === 'active') return { cancelled: true }; // its runner got the message (or sees the key at start)
      if (state === 'completed' || state === 'failed') return { cancelled: false };
      try {
        await job.remove();
      } catch {
        return { cancelled: true }; // taken by a runner in between: it sees the cancel key
      }
      await appendEvent(redis, runId, { type: 'run.finished', status: 'cancelled', durationMs: 0 });
      return { cancelled: true };
    },
    events: (runId, since) => readRunEvents(redis, runId, since),
    onEvent(listener) {
      eventListeners.add(listener);
      consuming ??= consume();
      return () => eventListeners.delete(listener);
    },
    onStatus(listener) {
      statusListeners.add(listener);
      return () => statusListeners.delete(listener);
    },
    onConnectionChange(listener) {
      connectionListeners.add(listener);
      return () => connectionListeners.delete(listener);
    },
    isConnected: () => connected,
    close() {
      closed = true;
      clearInterval(statusTimer);
      for (const queue of Object.values(queues)) void queue.close().catch(() => undefined);
      reader.disconnect();
      void redis.quit().catch(() => undefined);
      void consuming;
    },
  };
}
