/** The socket.io contract between the web server and browsers (types only, shared by both sides). */
import type { RunEvent } from '@defectflow/nodes';
import type { RunnerStatus } from '../../server/runner-link.ts';

export type { RunnerStatus };

/** A run's row changed outside its event stream (refused by the runner, marked interrupted). */
export interface RunStatusUpdate {
  runId: string;
  status: string;
  error: string | null;
}

export interface ServerToClientEvents {
  /** History (from the DB, in seq order) after run:join, then live events. May repeat a seq: dedupe. */
  'run:event': (event: RunEvent) => void;
  'run:status': (update: RunStatusUpdate) => void;
  'runner:status': (status: RunnerStatus) => void;
  /** A refused request (run:join of an unknown run, too many joins, session ended). */
  error: (problem: { event: string; runId?: string; message: string }) => void;
}

/** What a run:join ack receives (the ack is optional). */
export type JoinAck = { ok: true } | { ok: false; error: string };

export interface ClientToServerEvents {
  'run:join': (payload: { runId: string; since?: number }, ack?: (reply: JoinAck) => void) => void;
  'run:leave': (payload: { runId: string }) => void;
}
