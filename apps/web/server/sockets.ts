/**
 * socket.io for browsers. `run:join {runId, since}` → the run's history from the DB (seq order), then
 * live `run:event`s through room `run:<id>`. Live events may overlap the history: clients dedupe by seq.
 */
import type { Server as HttpServer } from 'node:http';
import type { RunEvent } from '@defectflow/nodes';
import { Server } from 'socket.io';
import { z } from 'zod';
import type { ClientToServerEvents, RunStatusUpdate, ServerToClientEvents } from '../src/client/socket-events.ts';
import { errorMessage, type Logger } from './log.ts';
import type { RunRelay } from './runner-bridge.ts';
import type { RunnerStatus } from './runner-link.ts';

const JoinPayload = z.object({ runId: z.string().min(1).max(128), since: z.number().int().min(0).optional() });

export interface BrowserSocketsOptions {
  listEvents(runId: string, since: number): Promise<RunEvent[]>;
  runnerStatus(): RunnerStatus;
  log: Logger;
}

export interface BrowserSockets extends RunRelay {
  io: Server<ClientToServerEvents, ServerToClientEvents>;
  close(): Promise<void>;
}

export const runRoom = (runId: string) => `run:${runId}`;

export function attachBrowserSockets(httpServer: HttpServer, opts: BrowserSocketsOptions): BrowserSockets {
  const io = new Server<ClientToServerEvents, ServerToClientEvents>(httpServer, {
    serveClient: false,
    // Other upgrade requests (Next's dev HMR websocket) are not ours to close.
    destroyUpgrade: false,
  });

  io.on('connection', (socket) => {
    socket.emit('runner:status', opts.runnerStatus());
    socket.on('run:join', async (payload) => {
      const parsed = JoinPayload.safeParse(payload);
      if (!parsed.success) return;
      const { runId, since = 0 } = parsed.data;
      // Join first so nothing emitted while the history loads is lost (duplicates are deduped by seq).
      await socket.join(runRoom(runId));
      try {
        for (const event of await opts.listEvents(runId, since)) socket.emit('run:event', event);
      } catch (err) {
        opts.log.warn(`run:join ${runId}: ${errorMessage(err)}`);
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
      io.emit('runner:status', status);
    },
    close: () =>
      new Promise<void>((resolve) => {
        // io.close() would also close the HTTP server; the caller owns that.
        io.disconnectSockets(true);
        io.engine.close();
        resolve();
      }),
  };
}
