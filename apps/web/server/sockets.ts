/**
 * socket.io for browsers. `run:join {runId, since}` → the run's history from the DB (seq order), then
 * live `run:event`s through room `run:<id>`. Live events may overlap the history: clients dedupe by seq.
 * Access: the handshake passes the request guard (Host, Origin, a viewer session or token: `allowRequest`);
 * each join re-checks the session, needs an existing run and is rate-limited per socket (SOCKET_JOIN_LIMIT per
 * 10 s); a refused join answers `{ ok: false, error }` to its ack and an `error` event. Sockets whose session or
 * token is revoked (sign-out, password change, user disabled or removed) are disconnected.
 */
import type { IncomingHttpHeaders, Server as HttpServer, IncomingMessage } from 'node:http';
import type { RunEvent } from '@defectflow/nodes';
import { Server, type ServerOptions } from 'socket.io';
import { z } from 'zod';
import type { ClientToServerEvents, JoinAck, RunStatusUpdate, ServerToClientEvents } from '../src/client/socket-events.ts';
import { accessDenied, type Principal } from './auth/principal.ts';
import { SlidingWindowLimiter } from './auth/rate-limit.ts';
import type { Verdict } from './auth/request-guard.ts';
import type { Revocation } from './auth/service.ts';
import { errorMessage, type Logger } from './log.ts';
import type { RunRelay } from './runner-bridge.ts';
import type { RunnerStatus } from './runner-link.ts';

const JoinPayload = z.object({ runId: z.string().min(1).max(128), since: z.number().int().min(0).optional() });

export interface BrowserSocketsOptions {
  listEvents(runId: string, since: number): Promise<RunEvent[]>;
  runnerStatus(): RunnerStatus;
  /** run:join is refused for runs that do not exist. */
  runExists(runId: string): Promise<boolean>;
  /** The handshake check (RequestGuard: Host, Origin, a viewer principal) and the principal it resolved. */
  guard: { check(req: IncomingMessage): Promise<Verdict>; principal(req: IncomingMessage): Promise<Principal> };
  /** Principals from headers, and revocations (AuthService). */
  auth: { resolve(headers: IncomingHttpHeaders): Promise<Principal>; onRevoked(listener: (r: Revocation) => void): () => void };
  /** run:join per socket per 10 s (SOCKET_JOIN_LIMIT). */
  joinLimit: number;
  log: Logger;
  /** Cluster mode: socket.io's Redis streams adapter, so an emit reaches the browsers of every web server. */
  adapter?: ServerOptions['adapter'];
}

interface SocketData {
  principal: Principal;
  joins: SlidingWindowLimiter;
}

const JOIN_WINDOW_MS = 10_000;

function revokes(r: Revocation, p: Principal): boolean {
  if (p.kind !== 'user') return false;
  return (
    r.userId === p.user.id ||
    (p.sessionHash !== undefined && (r.sessionHashes ?? []).includes(p.sessionHash)) ||
    (p.tokenId !== undefined && r.tokenId === p.tokenId)
  );
}

export interface BrowserSockets extends RunRelay {
  io: Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
  close(): Promise<void>;
}

export const runRoom = (runId: string) => `run:${runId}`;

export function attachBrowserSockets(httpServer: HttpServer, opts: BrowserSocketsOptions): BrowserSockets {
  const io = new Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>(httpServer, {
    serveClient: false,
    ...(opts.adapter ? { adapter: opts.adapter } : {}),
    // Other upgrade requests (Next's dev HMR websocket) are not ours to close.
    destroyUpgrade: false,
    allowRequest: (req, callback) => {
      opts.guard.check(req).then(
        (verdict) => callback(verdict.ok ? null : verdict.message, verdict.ok),
        (err: unknown) => callback(`request check failed: ${errorMessage(err)}`, false),
      );
    },
  });

  // The handshake passed the guard: remember who it was (re-checked at every join).
  io.use((socket, next) => {
    opts.guard.principal(socket.request).then(
      (principal) => {
        const denied = accessDenied(principal, 'viewer');
        if (denied) return next(new Error(denied.message));
        socket.data.principal = principal;
        socket.data.joins = new SlidingWindowLimiter(opts.joinLimit, JOIN_WINDOW_MS);
        next();
      },
      (err: unknown) => next(new Error(errorMessage(err))),
    );
  });

  const stopRevocations = opts.auth.onRevoked((r) => {
    for (const socket of io.sockets.sockets.values()) if (revokes(r, socket.data.principal)) socket.disconnect(true);
  });

  io.on('connection', (socket) => {
    socket.emit('runner:status', opts.runnerStatus());
    socket.on('run:join', async (payload, ack?: (reply: JoinAck) => void) => {
      const refuse = (runId: string | undefined, error: string) => {
        socket.emit('error', { event: 'run:join', runId, message: error });
        if (typeof ack === 'function') ack({ ok: false, error });
      };
      const parsed = JoinPayload.safeParse(payload);
      if (!parsed.success) return refuse(undefined, 'run:join needs { runId, since? }');
      const { runId, since = 0 } = parsed.data;
      const verdict = socket.data.joins.take('join');
      if (!verdict.ok) {
        return refuse(runId, `Too many run:join requests: the limit is ${opts.joinLimit} per 10 s (SOCKET_JOIN_LIMIT); try again in ${verdict.retryAfterS} s`);
      }
      try {
        // The session may have expired since the handshake, or its user been disabled.
        const denied = accessDenied(await opts.auth.resolve(socket.request.headers), 'viewer');
        if (denied) {
          refuse(runId, denied.message);
          socket.disconnect(true);
          return;
        }
        if (!(await opts.runExists(runId))) return refuse(runId, `run ${runId} does not exist`);
        // Join first so nothing emitted while the history loads is lost (duplicates are deduped by seq).
        await socket.join(runRoom(runId));
        for (const event of await opts.listEvents(runId, since)) socket.emit('run:event', event);
        if (typeof ack === 'function') ack({ ok: true });
      } catch (err) {
        opts.log.warn(`run:join ${runId}: ${errorMessage(err)}`);
        refuse(runId, `run:join ${runId} failed: ${errorMessage(err)}`);
      }
    });
    socket.on('run:leave', async (payload) => {
      const parsed = JoinPayload.pick({ runId: true }).safeParse(payload);
      if (parsed.success) await socket.leave(runRoom(parsed.data.runId));
    });
  });

  return {
    io,
    runEvent(event: RunEvent) {
      io.to(runRoom(event.runId)).emit('run:event', event);
    },
    runStatus(update: RunStatusUpdate) {
      io.to(runRoom(update.runId)).emit('run:status', update);
    },
    runnerStatus(status: RunnerStatus) {
      // Each web server tells its own browsers (every server has the same view of the cluster).
      io.local.emit('runner:status', status);
    },
    close: () =>
      new Promise<void>((resolve) => {
        stopRevocations();
        // io.close() would also close the HTTP server; the caller owns that.
        // Only the transports close (no socket.io disconnect packet): browsers reconnect by themselves — to this server
        // when it is back, or to another behind the load balancer — and re-join from their last seq.
        io.engine.close();
        resolve();
      }),
  };
}
