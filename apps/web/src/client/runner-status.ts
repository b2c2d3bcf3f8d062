'use client';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import type { RunnerStatus } from './socket-events.ts';
import { useSocket } from './socket.ts';
import { useTRPC } from './trpc.ts';

/** Runner status: the tRPC query for the first paint, then live `runner:status` pushes from the server. */
export function useRunnerStatus(): RunnerStatus | undefined {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const socket = useSocket();
  const query = useQuery({ ...trpc.runner.status.queryOptions(), refetchInterval: 15_000 });
  useEffect(() => {
    if (!socket) return;
    const queryKey = trpc.runner.status.queryKey();
    const onStatus = (status: RunnerStatus) => queryClient.setQueryData(queryKey, status);
    // After a web server restart the push may have been missed: refetch on every reconnect.
    const onConnect = () => void queryClient.invalidateQueries({ queryKey });
    socket.on('runner:status', onStatus);
    socket.on('connect', onConnect);
    return () => {
      socket.off('runner:status', onStatus);
      socket.off('connect', onConnect);
    };
  }, [socket, queryClient, trpc]);
  return query.data;
}

/** "runner: connected · wasm · idle" / "runner: disconnected". */
export function describeRunner(status: RunnerStatus | undefined): string {
  if (!status) return 'runner: …';
  if (status.mode === 'cluster') {
    if (!status.connected) return 'queue: Redis unreachable';
    const runners = status.runners ?? [];
    const busy = runners.filter((r) => r.running.length > 0).length;
    const parts = [`runners: ${runners.length}`, runners.length ? `${busy} busy` : 'none connected'];
    if (status.queue.length) parts.push(`${status.queue.length} queued`);
    return parts.join(' · ');
  }
  if (!status.connected) return 'runner: disconnected';
  const activity = status.busy ? (status.queue.length ? `busy, ${status.queue.length} queued` : 'busy') : 'idle';
  return ['runner: connected', status.backend, activity].filter(Boolean).join(' · ');
}
