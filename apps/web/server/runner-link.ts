/**
 * What the web server needs from a runner, as one small interface. The real implementation wraps
 * `createRunnerClient` from '@defectflow/runner/client' (see connectRunner); tests pass a fake.
 */
import type { PipelineGraph, RunEvent } from '@defectflow/nodes';
import type { RunnerCapabilities, StartRunResult } from '@defectflow/runner/client';
import { createRunnerClient } from '@defectflow/runner/client';

export type { RunnerCapabilities };
export type RunnerStartResult = StartRunResult;

/** How a run is queued; only cluster mode (REDIS_URL) has a shared queue to order and route, others ignore it. */
export interface RunOptions {
  priority?: 'high' | 'normal' | 'low';
  /** Capabilities the runner must have: 'gpu' sends it to runners with a GPU backend only. */
  requires?: Array<'gpu'>;
  /** Run it once more, on any runner, if the runner holding it dies (else it ends interrupted). */
  retryOnLoss?: boolean;
}

export interface RunnerLink {
  readonly url: string;
  capabilities(): Promise<RunnerCapabilities>;
  start(runId: string, graph: PipelineGraph, options?: RunOptions): Promise<RunnerStartResult>;
  cancel(runId: string): Promise<{ cancelled: boolean }>;
  /** Events of a run with seq > since, from the runner's events.jsonl. */
  events(runId: string, since: number): Promise<RunEvent[]>;
  /**
   * Every live event of every run (socket `subscribe:all`; cluster: this server's share of the Redis stream, which is
   * acknowledged once the listener's promise settles). Returns an unsubscribe function.
   */
  onEvent(listener: (event: RunEvent) => void | Promise<void>): () => void;
  onStatus(listener: (status: RunnerCapabilities) => void): () => void;
  onConnectionChange(listener: (connected: boolean) => void): () => void;
  isConnected(): boolean;
  close(): void;
}

/** Runner status as the web app shows it (tRPC runner.status and socket `runner:status`). */
export interface RunnerStatus {
  connected: boolean;
  url: string;
  backend: string | null;
  device: string | null;
  busy: boolean;
  queue: string[];
  currentRunId: string | null;
  /** Embedded runner child process restarts since the web server started. */
  restarts?: number;
  /** embedded child, one external runner (RUNNER_URL), or a cluster of runners behind a Redis queue (REDIS_URL). */
  mode?: 'embedded' | 'remote' | 'cluster';
  /** Cluster mode: the runners alive now (their last heartbeat). */
  runners?: Array<{ runnerId: string; host: string; backend: string; device: string; concurrency: number; running: string[]; freeMemory: number }>;
}

/**
 * A warning for a plain-http runner on another machine: its token (and the run data) cross the network
 * readable by anyone on the path. Null for https and for loopback addresses.
 */
export function plainRunnerWarning(url: string): string | null {
  const u = new URL(url);
  if (u.protocol !== 'http:') return null;
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost' || host === '::1' || /^127\./.test(host)) return null;
  return (
    `RUNNER_URL ${u.origin} is plain http to another machine: the runner token travels in clear. ` +
    'Serve the runner over https (RUNNER_TLS_CERT + RUNNER_TLS_KEY on the runner; RUNNER_URL=https://… and RUNNER_CA here)'
  );
}

export interface ConnectRunnerOptions {
  url: string;
  token: string;
  /** PEM of the CA (or self-signed certificate) to trust for an https url (RUNNER_CA). */
  ca?: string;
  /** Told each distinct reason the runner cannot be reached (a certificate error, a refused token, …). */
  onError?: (message: string) => void;
}

/** The real link: tRPC over HTTP(S) for calls, socket.io (`subscribe:all`) for the live stream. */
export function connectRunner(options: ConnectRunnerOptions): RunnerLink {
  const client = createRunnerClient({ url: options.url, token: options.token, ca: options.ca });
  let connected = false;
  let lastError = '';
  const listeners = new Set<(connected: boolean) => void>();
  // connect_error repeats on every retry while the runner is down: report changes only.
  client.onConnectionChange((c, error) => {
    if (!c && error && error !== lastError) options.onError?.(error);
    lastError = c ? '' : (error ?? lastError);
    if (c === connected) return;
    connected = c;
    for (const listener of listeners) listener(c);
  });
  return {
    url: options.url,
    capabilities: () => client.trpc.capabilities.query(),
    start: (runId, graph) => client.trpc.runs.start.mutate({ runId, graph }),
    cancel: (runId) => client.trpc.runs.cancel.mutate({ runId }),
    events: (runId, since) => client.trpc.runs.events.query({ runId, since }),
    onEvent: (listener) => client.subscribeAll(listener),
    onStatus: (listener) => client.onStatus(listener),
    onConnectionChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isConnected: () => connected,
    close: () => client.close(),
  };
}
