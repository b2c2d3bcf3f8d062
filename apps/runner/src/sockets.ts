import type { Server as HttpServer } from 'node:http';
import type { RunEvent } from '@defectflow/nodes';
import { Server, type Socket } from 'socket.io';
import { tokenMatches } from './auth.ts';
import { type EventLog, RUN_ID_PATTERN } from './event-log.ts';

/** Per-socket delivery state: the last seq sent per run, so each event reaches a socket exactly once. */
interface SocketState {
  lastSent: Map<string, number>;
}

type Ack = (reply: { ok: true; replayed: number } | { ok: false; error: string }) => void;

export interface SubscribePayload {
  runId: string;
  /** Replay events with seq > since (0 = from the start). */
  since?: number;
}

export interface SubscribeAllPayload {
  /** Runs the client has seen, with the last seq it has of each: their missing events are replayed. */
  since?: Record<string, number>;
  /** Last event ts the client saw (a reconnect): runs with events written since then are replayed too. */
  after?: number;
}

export const runRoom = (runId: string) => `run:${runId}`;
export const ALL_ROOM = 'all';

/**
 * socket.io on the runner's HTTP server: handshake `auth.token`, `subscribe {runId, since}`,
 * `subscribe:all {since?, after?}`, `unsubscribe {runId}`; the server emits `run:event` (RunEvent)
 * and `runner:status` (capabilities).
 */
export function attachSockets(
  httpServer: HttpServer,
  opts: { token: string; log: EventLog; status: () => unknown },
): { io: Server; broadcastStatus(): void } {
  const io = new Server(httpServer, { serveClient: false, cors: { origin: false } });
  const { log } = opts;

  io.use((socket, next) => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (tokenMatches(opts.token, typeof token === 'string' ? token : undefined)) next();
    else next(new Error('unauthorized'));
  });

  const stateOf = (socket: Socket): SocketState => socket.data as SocketState;

  /** Sends events with seq > since, then moves the live cursor past them. */
  const replay = (socket: Socket, runId: string, since: number): number => {
    const state = stateOf(socket);
    const events = log.read(runId, since);
    for (const event of events) socket.emit('run:event', event);
    const last = events[events.length - 1]?.seq ?? since;
    state.lastSent.set(runId, Math.max(state.lastSent.get(runId) ?? 0, last));
    return events.length;
  };

  io.on('connection', (socket) => {
    socket.data = { lastSent: new Map() } satisfies SocketState;
    socket.emit('runner:status', opts.status());

    socket.on('subscribe', (payload: SubscribePayload, ack?: Ack) => {
      const runId = payload?.runId;
      const since = Number(payload?.since ?? 0);
      if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId) || !Number.isFinite(since) || since < 0) {
        ack?.({ ok: false, error: 'subscribe needs {runId: string, since: number >= 0}' });
        return;
      }
      // Join first, then replay: appends and reads are synchronous, so nothing can fall in between, and
      // the per-socket cursor keeps a live event from being sent twice.
      void socket.join(runRoom(runId));
      const replayed = replay(socket, runId, since);
      ack?.({ ok: true, replayed });
    });

    socket.on('subscribe:all', (payload: SubscribeAllPayload | undefined, ack?: Ack) => {
      void socket.join(ALL_ROOM);
      const since = payload?.since && typeof payload.since === 'object' ? payload.since : {};
      const runIds = new Set(Object.keys(since).filter((id) => RUN_ID_PATTERN.test(id)));
      // Directory mtimes are coarse: look a little further back; seq dedupe keeps it exact.
      if (typeof payload?.after === 'number') for (const id of log.runsActiveSince(payload.after - 2000)) runIds.add(id);
      let replayed = 0;
      for (const runId of runIds) replayed += replay(socket, runId, Number(since[runId] ?? 0) || 0);
      ack?.({ ok: true, replayed });
    });

    socket.on('unsubscribe', (payload: { runId?: string } | undefined) => {
      if (typeof payload?.runId === 'string') void socket.leave(runRoom(payload.runId));
    });
  });

  log.onEvent((event: RunEvent) => {
    const rooms = io.sockets.adapter.rooms;
    const targets = new Set<string>([...(rooms.get(ALL_ROOM) ?? []), ...(rooms.get(runRoom(event.runId)) ?? [])]);
    for (const id of targets) {
      const socket = io.sockets.sockets.get(id);
      if (!socket) continue;
      const state = stateOf(socket);
      if (event.seq <= (state.lastSent.get(event.runId) ?? 0)) continue;
      state.lastSent.set(event.runId, event.seq);
      socket.emit('run:event', event);
    }
  });

  return { io, broadcastStatus: () => io.emit('runner:status', opts.status()) };
}
