import type { RunEvent } from '@defectflow/nodes';
import { createTRPCClient, httpBatchLink, httpLink } from '@trpc/client';
import { io, type ManagerOptions, type SocketOptions } from 'socket.io-client';
import { createHttpsFetch } from './https-fetch.ts';
import type { RunnerCapabilities, RunnerRouter } from './router.ts';
import type { SubscribeAllPayload, SubscribePayload } from './sockets.ts';

export type { RunEvent } from '@defectflow/nodes';
export type { RunnerCapabilities, RunnerRouter, StartRunResult } from './router.ts';
export type { BackboneInspection, BackboneMeasurement } from './predict/backbones.ts';
export type { DecisionCall, DriftCall, HeatMap, Prediction, PredictRequest, PredictResponse } from './predict/types.ts';

/**
 * A plain tRPC client of the runner (no socket): one HTTP request per call (httpLink, never batched, so a quick
 * prediction never waits for a slow one sharing its batch). What the web server's prediction transport uses.
 */
export function createRunnerTrpc(opts: Pick<RunnerClientOptions, 'url' | 'token' | 'ca'>) {
  const base = opts.url.replace(/\/+$/, '');
  const authorization = `Bearer ${opts.token}`;
  const https = base.startsWith('https:') ? createHttpsFetch({ ca: opts.ca }) : null;
  return createTRPCClient<RunnerRouter>({
    links: [httpLink({ url: `${base}/trpc`, headers: () => ({ authorization }), fetch: https?.fetch })],
  });
}

export type RunnerTrpc = ReturnType<typeof createRunnerTrpc>;

export interface RunnerClientOptions {
  /** Runner base URL, e.g. http://127.0.0.1:3100, or https://gpu-box:3100 (RUNNER_TLS_CERT on the runner). */
  url: string;
  token: string;
  /** PEM of the CA (or self-signed certificate) to trust for an https url; the system's CAs otherwise. */
  ca?: string;
  /** Extra socket.io-client options (reconnection delays, …). */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

export type RunEventHandler = (event: RunEvent) => void;
export type ConnectionHandler = (connected: boolean, error?: string) => void;

interface RunSubscription {
  handler: RunEventHandler;
  /** Last seq delivered to this handler; resubscribing after a reconnect asks for what follows. */
  lastSeq: number;
}

/**
 * Client for the web server (or any Node process) to drive a runner: a typed tRPC client plus a
 * socket.io stream that delivers every event once and in seq order per run, across reconnects.
 */
export function createRunnerClient(opts: RunnerClientOptions) {
  const base = opts.url.replace(/\/+$/, '');
  const authorization = `Bearer ${opts.token}`;
  // https: node:https with the given CA (and certificate errors named as such); http: the global fetch.
  const https = base.startsWith('https:') ? createHttpsFetch({ ca: opts.ca }) : null;
  const trpc = createTRPCClient<RunnerRouter>({
    links: [httpBatchLink({ url: `${base}/trpc`, headers: () => ({ authorization }), fetch: https?.fetch })],
  });

  const socket = io(base, {
    auth: { token: opts.token },
    transports: ['websocket'],
    ...(opts.ca ? { ca: opts.ca } : {}),
    reconnection: true,
    reconnectionDelay: 250,
    reconnectionDelayMax: 5000,
    ...opts.socket,
  });

  const runSubs = new Map<string, Set<RunSubscription>>();
  const allHandlers = new Set<RunEventHandler>();
  /** Last seq delivered to the all-runs handlers, per run. */
  const allSeen = new Map<string, number>();
  let lastTs: number | undefined;
  let connectedOnce = false;
  const connectionHandlers = new Set<ConnectionHandler>();

  const safeCall = <A extends unknown[]>(fn: (...args: A) => void, ...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      console.error('[runner-client] handler failed:', err);
    }
  };

  const sendSubscribe = (runId: string) => {
    const subs = runSubs.get(runId);
    if (!subs?.size) return;
    const since = Math.min(...[...subs].map((s) => s.lastSeq));
    socket.emit('subscribe', { runId, since } satisfies SubscribePayload);
  };

  const sendSubscribeAll = (resume: boolean) => {
    const payload: SubscribeAllPayload = { since: Object.fromEntries(allSeen) };
    if (resume && lastTs !== undefined) payload.after = lastTs;
    socket.emit('subscribe:all', payload);
  };

  socket.on('connect', () => {
    // Emits made while disconnected are not buffered by us: every subscription is (re)sent here.
    for (const runId of runSubs.keys()) sendSubscribe(runId);
    if (allHandlers.size > 0) sendSubscribeAll(connectedOnce);
    connectedOnce = true;
    for (const h of connectionHandlers) safeCall(h, true);
  });
  socket.on('disconnect', (reason) => {
    for (const h of connectionHandlers) safeCall(h, false, reason);
  });
  socket.on('connect_error', (err) => {
    for (const h of connectionHandlers) safeCall(h, false, err.message);
  });

  socket.on('run:event', (event: RunEvent) => {
    lastTs = Math.max(lastTs ?? 0, event.ts);
    for (const sub of runSubs.get(event.runId) ?? []) {
      if (event.seq <= sub.lastSeq) continue;
      sub.lastSeq = event.seq;
      safeCall(sub.handler, event);
    }
    if (allHandlers.size > 0 && event.seq > (allSeen.get(event.runId) ?? 0)) {
      allSeen.set(event.runId, event.seq);
      for (const h of allHandlers) safeCall(h, event);
    }
  });

  return {
    trpc,
    socket,
    /**
     * Every live event of every run. `since` (runId → last seq already stored, e.g. from the DB after a
     * restart) replays what is missing for those runs. Returns an unsubscribe function.
     */
    subscribeAll(handler: RunEventHandler, options: { since?: Record<string, number> } = {}): () => void {
      for (const [runId, seq] of Object.entries(options.since ?? {})) {
        allSeen.set(runId, Math.max(allSeen.get(runId) ?? 0, seq));
      }
      allHandlers.add(handler);
      if (socket.connected) sendSubscribeAll(false);
      return () => {
        allHandlers.delete(handler);
      };
    },
    /** Events of one run with seq > since (history first, then live). Returns an unsubscribe function. */
    subscribe(runId: string, since: number, handler: RunEventHandler): () => void {
      const sub: RunSubscription = { handler, lastSeq: since };
      let subs = runSubs.get(runId);
      if (!subs) runSubs.set(runId, (subs = new Set()));
      subs.add(sub);
      if (socket.connected) socket.emit('subscribe', { runId, since } satisfies SubscribePayload);
      return () => {
        subs.delete(sub);
        if (subs.size === 0) {
          runSubs.delete(runId);
          if (socket.connected) socket.emit('unsubscribe', { runId });
        }
      };
    },
    /** Capabilities pushed by the runner on connect and on every queue change. */
    onStatus(handler: (status: RunnerCapabilities) => void): () => void {
      socket.on('runner:status', handler);
      return () => {
        socket.off('runner:status', handler);
      };
    },
    /** connected=true on every (re)connect; false with the reason on a drop or a refused handshake. */
    onConnectionChange(handler: ConnectionHandler): () => void {
      connectionHandlers.add(handler);
      return () => {
        connectionHandlers.delete(handler);
      };
    },
    close(): void {
      socket.close();
      https?.close();
    },
  };
}

export type RunnerClient = ReturnType<typeof createRunnerClient>;
