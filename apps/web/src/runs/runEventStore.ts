/**
 * One subscription per run per browser tab: joins room `run:<id>` on the web server's socket,
 * folds incoming events (batched, so a burst of train.batch events is one re-render), and on every
 * reconnect re-joins with `since` = the last seq it holds, so nothing is missed or doubled.
 * Framework-free (takes a socket-like object) so it is unit-tested without React or a server.
 */
import type { RunEvent } from '@defectflow/nodes';
import { applyEvents, initialRunState, type RunViewState } from './runState.ts';

/** The part of a socket.io-client Socket this store uses. */
export interface SocketLike {
  connected: boolean;
  on(event: string, fn: (...args: never[]) => void): unknown;
  off(event: string, fn: (...args: never[]) => void): unknown;
  emit(event: string, ...args: unknown[]): unknown;
}

type Listener = () => void;
type Schedule = (flush: () => void) => void;

const defaultSchedule: Schedule = (flush) => {
  setTimeout(flush, 40);
};

interface Entry {
  state: RunViewState;
  listeners: Set<Listener>;
  pending: RunEvent[];
  flushScheduled: boolean;
}

export class RunEventStore {
  private readonly entries = new Map<string, Entry>();
  private attached = false;

  constructor(
    private readonly socket: SocketLike,
    private readonly schedule: Schedule = defaultSchedule,
  ) {}

  getState(runId: string): RunViewState {
    return this.entry(runId).state;
  }

  /** Starts listening to a run (joins its room on first listener); returns the unsubscribe function. */
  subscribe(runId: string, listener: Listener): () => void {
    const entry = this.entry(runId);
    this.attach();
    entry.listeners.add(listener);
    if (entry.listeners.size === 1 && this.socket.connected) this.join(runId);
    return () => {
      entry.listeners.delete(listener);
      if (entry.listeners.size === 0) {
        this.socket.emit('run:leave', { runId });
        // State stays cached: a later visit re-joins from its last seq.
      }
    };
  }

  /** Feeds events that came from elsewhere (e.g. a tRPC runs.events fetch). */
  ingest(events: readonly RunEvent[]): void {
    for (const e of events) {
      const entry = this.entries.get(e.runId);
      if (!entry) continue;
      entry.pending.push(e);
      this.scheduleFlush(entry);
    }
  }

  private entry(runId: string): Entry {
    let entry = this.entries.get(runId);
    if (!entry) {
      entry = { state: initialRunState(runId), listeners: new Set(), pending: [], flushScheduled: false };
      this.entries.set(runId, entry);
    }
    return entry;
  }

  private join(runId: string): void {
    const entry = this.entry(runId);
    // `since` counts what is already folded or waiting to be: the server sends only newer events.
    const pendingMax = entry.pending.reduce((m, e) => Math.max(m, e.seq), 0);
    this.socket.emit('run:join', { runId, since: Math.max(entry.state.lastSeq, pendingMax) });
  }

  private readonly onEvent = (event: RunEvent) => {
    if (!event || typeof event.runId !== 'string') return;
    this.ingest([event]);
  };

  private readonly onConnect = () => {
    for (const [runId, entry] of this.entries) if (entry.listeners.size > 0) this.join(runId);
  };

  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.socket.on('run:event', this.onEvent as (...args: never[]) => void);
    this.socket.on('connect', this.onConnect);
  }

  /** Detaches from the socket (tests, hot reload). */
  dispose(): void {
    if (!this.attached) return;
    this.socket.off('run:event', this.onEvent as (...args: never[]) => void);
    this.socket.off('connect', this.onConnect);
    this.attached = false;
  }

  private scheduleFlush(entry: Entry): void {
    if (entry.flushScheduled) return;
    entry.flushScheduled = true;
    this.schedule(() => {
      entry.flushScheduled = false;
      const batch = entry.pending;
      entry.pending = [];
      const next = applyEvents(entry.state, batch);
      if (next === entry.state) return;
      entry.state = next;
      for (const l of [...entry.listeners]) l();
    });
  }
}

const stores = new WeakMap<object, RunEventStore>();

/** The store bound to a given socket instance (one per tab in practice). */
export function storeFor(socket: SocketLike): RunEventStore {
  let store = stores.get(socket);
  if (!store) {
    store = new RunEventStore(socket);
    stores.set(socket, store);
  }
  return store;
}
