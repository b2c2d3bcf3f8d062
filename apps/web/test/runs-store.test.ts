import type { RunEvent } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import { RunEventStore, type SocketLike } from '../src/runs/runEventStore.ts';

/** A socket double: records emits, lets the test fire server events and (re)connects. */
class FakeSocket implements SocketLike {
  connected = true;
  emitted: [string, unknown][] = [];
  private handlers = new Map<string, Set<(...args: never[]) => void>>();
  on(event: string, fn: (...args: never[]) => void) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event)?.add(fn);
  }
  off(event: string, fn: (...args: never[]) => void) {
    this.handlers.get(event)?.delete(fn);
  }
  emit(event: string, payload?: unknown) {
    this.emitted.push([event, payload]);
  }
  fire(event: string, payload?: unknown) {
    for (const fn of this.handlers.get(event) ?? []) (fn as (p: unknown) => void)(payload);
  }
}

function ev(seq: number, runId = 'r1'): RunEvent {
  return { type: 'node.log', level: 'info', message: `line ${seq}`, runId, seq, ts: 1000 + seq };
}

/** Flushes synchronously when the test says so. */
function manualScheduler() {
  const queue: (() => void)[] = [];
  return {
    schedule: (f: () => void) => {
      queue.push(f);
    },
    flush: () => {
      for (const f of queue.splice(0)) f();
    },
  };
}

describe('RunEventStore (socket subscription)', () => {
  it('joins once per run, batches events into one update, and leaves when the last listener goes', () => {
    const socket = new FakeSocket();
    const sched = manualScheduler();
    const store = new RunEventStore(socket, sched.schedule);
    let updates = 0;
    const off1 = store.subscribe('r1', () => updates++);
    const off2 = store.subscribe('r1', () => {});
    expect(socket.emitted).toEqual([['run:join', { runId: 'r1', since: 0 }]]);

    socket.fire('run:event', ev(1));
    socket.fire('run:event', ev(2));
    socket.fire('run:event', ev(2)); // duplicate from history + live
    socket.fire('run:event', ev(1, 'other-run'));
    sched.flush();
    expect(updates).toBe(1);
    expect(store.getState('r1').logs.map((l) => l.message)).toEqual(['line 1', 'line 2']);

    off1();
    off2();
    expect(socket.emitted.at(-1)).toEqual(['run:leave', { runId: 'r1' }]);
  });

  it('re-joins with since = last seq after a reconnect, and the replay fills the gap without doubles', () => {
    const socket = new FakeSocket();
    const sched = manualScheduler();
    const store = new RunEventStore(socket, sched.schedule);
    store.subscribe('r1', () => {});
    for (const s of [1, 2, 3]) socket.fire('run:event', ev(s));
    sched.flush();

    socket.connected = false; // dropped; events 4..5 happen meanwhile
    socket.connected = true;
    socket.fire('connect');
    expect(socket.emitted.at(-1)).toEqual(['run:join', { runId: 'r1', since: 3 }]);

    // A live event may overtake the replay; the replay may overlap what we have.
    socket.fire('run:event', ev(6));
    for (const s of [3, 4, 5]) socket.fire('run:event', ev(s));
    sched.flush();
    expect(store.getState('r1').events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(store.getState('r1').lastSeq).toBe(6);
  });

  it('joins when the socket connects later, and only for runs someone is watching', () => {
    const socket = new FakeSocket();
    socket.connected = false;
    const store = new RunEventStore(socket, (f) => f());
    const off = store.subscribe('r1', () => {});
    store.subscribe('r2', () => {});
    expect(socket.emitted).toEqual([]);
    off();
    socket.connected = true;
    socket.fire('connect');
    expect(socket.emitted.filter(([name]) => name === 'run:join')).toEqual([['run:join', { runId: 'r2', since: 0 }]]);
  });
});
