/**
 * The cluster protocol (REDIS_URL): the Redis keys, queue names and the one Lua script that web servers and
 * runners share. Imported by both (`@defectflow/runner/cluster-protocol`), so the two sides cannot disagree.
 *
 * Runs are BullMQ jobs (job id = run id) in `df-runs`, or `df-runs-gpu` when the run requires a GPU. Every run
 * event is appended by `appendEvent` (below) to the run's own stream `df:run:<id>:events` (entry id `<seq>-1`, so
 * `XRANGE` from a seq is a replay) and to the shared stream `df:events`, which web servers read with the
 * consumer group `web`. The run's last seq lives in `df:run:<id>:seq`: a retried run, or an ending written by a
 * web server (cancel while queued), continues the numbering, so seqs stay gap-free across processes.
 */
import type { PipelineGraph, RunEvent, RunEventBody } from '@defectflow/nodes';

export const RUN_QUEUE = 'df-runs';
export const GPU_RUN_QUEUE = 'df-runs-gpu';
export const PREDICT_QUEUE = 'df-predict';
/** The stream every run event is copied to; web servers read it with CONSUMER_GROUP. */
export const EVENTS_STREAM = 'df:events';
export const CONSUMER_GROUP = 'web';
/** Cancel requests (message = run id); each runner acts on the runs it holds. */
export const CANCEL_CHANNEL = 'df:cancel';
/** Set of runner ids that ever announced themselves; each has a heartbeat key with a TTL. */
export const RUNNERS_SET = 'df:runners';
/**
 * How long a finished run's own stream is kept: long enough for every web server to have stored it (they resync
 * unfinished runs every 15 s), short enough that Redis holds only runs in flight (~470 bytes per event, BENCHMARKS).
 */
export const FINISHED_STREAM_TTL_S = 3600;
/** The shared stream is trimmed to about this many entries (web servers ack them within seconds). */
export const EVENTS_STREAM_MAXLEN = 200_000;

export const runKeys = (runId: string) => ({
  seq: `df:run:${runId}:seq`,
  stream: `df:run:${runId}:events`,
  /** The token of the attempt allowed to append (fencing: a runner that lost its lock cannot write). */
  holder: `df:run:${runId}:holder`,
  /** Set once run.finished is appended: nothing is appended after it. */
  done: `df:run:${runId}:done`,
  /** Set by a web server's cancel; a runner that picks the job up later ends it cancelled. */
  cancel: `df:run:${runId}:cancel`,
  /** Incremented by every runner that starts the job: > 1 means an earlier holder died. */
  attempts: `df:run:${runId}:attempts`,
  /** The runner id of the current attempt (who to name when it is lost). */
  runner: `df:run:${runId}:runner`,
});

export const runnerKey = (runnerId: string) => `df:runner:${runnerId}`;

/** A BullMQ run job's data. */
export interface RunJobData {
  runId: string;
  graph: PipelineGraph;
  /** Run it again once (on any runner) when the runner holding it dies; otherwise it ends `interrupted`. */
  retryOnLoss?: boolean;
}

/** What a runner announces every few seconds under runnerKey(id) (TTL: it vanishes when the runner dies). */
export interface RunnerHeartbeat {
  runnerId: string;
  host: string;
  pid: number;
  version: string;
  backend: string;
  device: string;
  queues: string[];
  concurrency: number;
  running: string[];
  freeMemory: number;
  rss: number;
  startedAt: number;
  ts: number;
}

/**
 * KEYS: seq, stream, done, holder, events stream, attempts, runner, cancel. ARGV: runId, seq ('' = next), holder
 * token ('' = no fencing), event JSON, final ('1'/'0'), maxlen, finished TTL.
 * Returns {1, seq} appended · {0, last} the run already finished · {-1, last} fenced: another attempt holds it ·
 * {-2, last} seq is not last + 1 (a gap or a duplicate).
 */
export const APPEND_EVENT_LUA = `
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
if redis.call('EXISTS', KEYS[3]) == 1 then return {0, last} end
if ARGV[3] ~= '' and redis.call('GET', KEYS[4]) ~= ARGV[3] then return {-1, last} end
local seq = last + 1
if ARGV[2] ~= '' and tonumber(ARGV[2]) ~= seq then return {-2, last} end
redis.call('SET', KEYS[1], seq)
redis.call('XADD', KEYS[2], seq .. '-1', 'seq', seq, 'event', ARGV[4])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[6], '*', 'runId', ARGV[1], 'seq', seq, 'event', ARGV[4])
if ARGV[5] == '1' then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[7])
  redis.call('EXPIRE', KEYS[1], ARGV[7])
  redis.call('EXPIRE', KEYS[2], ARGV[7])
  redis.call('DEL', KEYS[4])
  for i = 6, 8 do redis.call('EXPIRE', KEYS[i], ARGV[7]) end
end
return {1, seq}
`;

/** The minimal Redis client surface the helpers below need (ioredis satisfies it). */
export interface EvalClient {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  xrange(key: string, start: string, end: string): Promise<Array<[string, string[]]>>;
}

export type AppendOutcome = { ok: true; seq: number } | { ok: false; reason: 'finished' | 'fenced' | 'out_of_order'; lastSeq: number };

/**
 * Appends one event. `seq` given: it must be the next one (a runner stamps its own, see EventLog); absent: the
 * next seq is taken (a web server writing a cancelled/interrupted ending). `holder` given: only that attempt may append.
 */
export async function appendEvent(
  redis: EvalClient,
  runId: string,
  body: RunEventBody | RunEvent,
  opts: { seq?: number; holder?: string } = {},
): Promise<AppendOutcome> {
  const k = runKeys(runId);
  const { seq: _ignored, ...rest } = body as RunEvent;
  const event = JSON.stringify({ ...rest, runId, ts: (body as RunEvent).ts ?? Date.now() });
  const reply = (await redis.eval(
    APPEND_EVENT_LUA,
    8,
    k.seq,
    k.stream,
    k.done,
    k.holder,
    EVENTS_STREAM,
    k.attempts,
    k.runner,
    k.cancel,
    runId,
    opts.seq === undefined ? '' : String(opts.seq),
    opts.holder ?? '',
    event,
    body.type === 'run.finished' ? '1' : '0',
    EVENTS_STREAM_MAXLEN,
    FINISHED_STREAM_TTL_S,
  )) as [number, number];
  const [code, n] = [Number(reply[0]), Number(reply[1])];
  if (code === 1) return { ok: true, seq: n };
  return { ok: false, reason: code === 0 ? 'finished' : code === -1 ? 'fenced' : 'out_of_order', lastSeq: n };
}

/** A stream entry's fields ([k1, v1, k2, v2, …]) as a RunEvent, or null when malformed. */
export function eventFromFields(fields: string[], runId?: string): RunEvent | null {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) map.set(fields[i] as string, fields[i + 1] as string);
  const seq = Number(map.get('seq'));
  const json = map.get('event');
  if (!Number.isInteger(seq) || seq < 1 || !json) return null;
  try {
    const event = JSON.parse(json) as RunEvent;
    if (runId && event.runId !== runId) return null;
    return { ...event, seq } as RunEvent;
  } catch {
    return null;
  }
}

/** Events of a run with seq > since, from its own stream (empty once the stream expired: the database has them). */
export async function readRunEvents(redis: EvalClient, runId: string, since: number): Promise<RunEvent[]> {
  const entries = await redis.xrange(runKeys(runId).stream, `${since + 1}-0`, '+');
  const events: RunEvent[] = [];
  for (const [, fields] of entries) {
    const event = eventFromFields(fields, runId);
    if (event) events.push(event);
  }
  return events;
}

/** The queue a run goes to: GPU runs only to runners with a GPU backend; everything else to any runner. */
export function queueFor(requires: readonly string[] | undefined): string {
  return requires?.includes('gpu') ? GPU_RUN_QUEUE : RUN_QUEUE;
}
