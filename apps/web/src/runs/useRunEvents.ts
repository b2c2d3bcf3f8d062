'use client';
/**
 * React bindings for a run's live event stream: `useRunEvents(runId)` (everything the run panel shows)
 * and `useNodeStates(runId)` (what the editor colours its nodes with). Both share one socket
 * subscription per run through RunEventStore.
 */
import { useMemo, useSyncExternalStore } from 'react';
import { useSocket } from '../client/socket.ts';
import { storeFor, type SocketLike } from './runEventStore.ts';
import { initialRunState, type NodeRunState, type RunViewState } from './runState.ts';

const EMPTY = initialRunState('');
const noop = () => () => {};

export function useRunEvents(runId: string | null | undefined): RunViewState {
  const socket = useSocket() as unknown as SocketLike | null | undefined;
  const store = socket ? storeFor(socket) : null;
  const subscribe = useMemo(
    () => (store && runId ? (listener: () => void) => store.subscribe(runId, listener) : noop),
    [store, runId],
  );
  const get = () => (store && runId ? store.getState(runId) : EMPTY);
  return useSyncExternalStore(subscribe, get, () => EMPTY);
}

export type NodeStates = Record<string, { state: NodeRunState; progress?: number; message?: string }>;

/** Per-node state of a run for the editor canvas; nodes the run has not reached yet are absent. */
export function useNodeStates(runId: string | null | undefined): NodeStates {
  const { nodes } = useRunEvents(runId);
  return useMemo(() => {
    const out: NodeStates = {};
    for (const [id, n] of Object.entries(nodes)) out[id] = { state: n.state, progress: n.progress, message: n.message };
    return out;
  }, [nodes]);
}
