'use client';
/**
 * <RunPanel runId>: a run watched live — status, backend/device, overall progress with ETA, node
 * states, loss/accuracy curves and the log, plus Cancel. Embedded by the editor and by /runs/<id>.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useEffect, useRef, useState } from 'react';
import { NEEDS_ENGINEER, useMe } from '../client/auth.ts';
import { useSocket } from '../client/socket.ts';
import { type RouterOutputs, useTRPC } from '../client/trpc.ts';
import { TrainingCurves } from './chart/TrainingCurves.tsx';
import { metricsFromRun } from './metrics.ts';
import { LogView } from './panel/LogView.tsx';
import { NodeStateList } from './panel/NodeStateList.tsx';
import { ProgressBar } from './panel/ProgressBar.tsx';
import { StatusBadge } from './panel/StatusBadge.tsx';
import { estimateEtaMs, formatDuration, isFinished, overallProgress, reusedTrainingRun } from './runState.ts';
import { useRunEvents } from './useRunEvents.ts';

export interface RunPanelProps {
  runId: string;
  /** Hide the per-node table (the editor shows states on the canvas instead). */
  hideNodes?: boolean;
}

/** Re-renders every `ms` while `active`, for the ETA countdown. */
function useNow(active: boolean, ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [active, ms]);
  return now;
}

export function RunPanel({ runId, hideNodes = false }: RunPanelProps) {
  const trpc = useTRPC();
  const queryClient = useQueryClient();
  const state = useRunEvents(runId);
  // A rerun that reused a cached training shows the curves of the run that trained.
  const reusedFrom = reusedTrainingRun(state);
  const original = useRunEvents(reusedFrom);
  const finished = isFinished(state.status);
  const run = useQuery(trpc.runs.get.queryOptions({ runId }));
  const row = run.data;
  const cancel = useMutation(trpc.runs.cancel.mutationOptions());
  const { canEdit } = useMe();

  // The row carries the final metrics: refetch once the stream says the run ended.
  useEffect(() => {
    if (finished) void queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ runId }) });
  }, [finished, queryClient, trpc, runId]);

  // A row can change outside the event stream (runner refused the run, run marked interrupted).
  const socket = useSocket();
  useEffect(() => {
    if (!socket) return;
    const onStatus = (u: { runId: string }) => {
      if (u.runId === runId) void queryClient.invalidateQueries({ queryKey: trpc.runs.get.queryKey({ runId }) });
    };
    socket.on('run:status', onStatus);
    return () => {
      socket.off('run:status', onStatus);
    };
  }, [socket, queryClient, trpc, runId]);

  // The stream decides, except where the row knows an end the stream never told (refused, interrupted).
  const rowEnded = row !== undefined && ROW_ENDED.includes(row.status);
  const status = isFinished(state.status) ? state.status : rowEnded ? (row?.status ?? 'waiting') : state.status === 'waiting' ? (row?.status ?? 'waiting') : state.status;
  const ended = finished || rowEnded;
  const now = useNow(!ended);
  const graphNodes = (row?.graph?.nodes ?? []).map((n) => ({ id: n.id, type: n.type, label: n.label }));
  // Until the run's graph is loaded, the nodes not seen yet (training, most of a run) would not count and the bar
  // would jump ahead, then back: it waits for the graph, and never moves back for the same run.
  const progress = useForwardOnly(runId, row?.graph ? overallProgress(state, graphNodes) : state.status === 'succeeded' ? 1 : 0);
  const eta = estimateEtaMs(state, now, graphNodes);
  const elapsed =
    state.durationMs ?? (state.startedTs !== undefined ? Math.max(0, (state.finishedTs ?? now) - state.startedTs) : undefined);
  const backend = state.backend ?? row?.backend ?? undefined;
  const device = state.device ?? row?.device ?? undefined;
  const error = state.error ?? row?.error ?? undefined;
  const canCancel = !ended;
  const metrics = metricsFromRun(
    row?.metrics,
    Object.values(state.nodes)
      .filter((n) => n.nodeType === 'evaluate')
      .map((n) => n.summary),
  );
  const baselineWarning = metrics?.verdict?.warning ?? null;

  return (
    <section className="df-card" data-testid="run-panel" data-run-id={runId} style={{ display: 'grid', gap: 12 }}>
      <header style={{ display: 'flex', flexWrap: 'wrap', alignItems: 'center', gap: 10 }}>
        <StatusBadge status={status} testId="run-status" />
        <span style={{ fontSize: 12, color: '#5b6470' }} data-testid="run-backend">
          {backend ? `${backend}${device ? ` · ${device}` : ''}` : 'backend: waiting for runner'}
        </span>
        <span style={{ fontSize: 12, color: '#5b6470' }}>elapsed {formatDuration(elapsed)}</span>
        <span style={{ flex: 1 }} />
        {canCancel ? (
          <button
            type="button"
            className="df-btn df-btn-danger"
            data-testid="run-cancel"
            disabled={cancel.isPending || !canEdit}
            title={canEdit ? undefined : NEEDS_ENGINEER}
            onClick={() => cancel.mutate({ runId })}
          >
            {cancel.isPending ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
      </header>
      <ProgressBar
        value={progress}
        label={ended ? status : eta !== null ? `ETA ${formatDuration(eta)}` : undefined}
        color={status === 'failed' ? '#dc2626' : status === 'cancelled' ? '#8c959f' : '#2563eb'}
      />
      {error ? (
        <div role="alert" style={{ color: '#b91c1c', fontSize: 13 }}>
          {error}
        </div>
      ) : null}
      {baselineWarning ? (
        <div data-testid="run-baseline-warning" style={{ color: '#92400e', background: '#fffbeb', border: '1px solid #f59e0b', borderRadius: 6, padding: '6px 10px', fontSize: 13 }}>
          ⚠ {baselineWarning}
        </div>
      ) : null}
      {cancel.error ? <div style={{ color: '#b91c1c', fontSize: 12 }}>Cancel failed: {cancel.error.message}</div> : null}
      {hideNodes ? null : <NodeStateList nodes={state.nodes} graphNodes={graphNodes} />}
      {reusedFrom ? (
        <div data-testid="run-reused-training" style={{ fontSize: 13, color: '#374151' }}>
          Training was reused from run{' '}
          <Link href={`/runs/${reusedFrom}`} style={{ fontFamily: 'monospace' }}>
            {reusedFrom.slice(0, 8)}
          </Link>{' '}
          (same data and settings); its curves are shown.
        </div>
      ) : null}
      <TrainingCurves state={reusedFrom && state.epochs.length === 0 ? original : state} />
      <LogView logs={state.logs} startedTs={state.startedTs} />
    </section>
  );
}

const ROW_ENDED = ['succeeded', 'failed', 'cancelled', 'interrupted'];

/** A runs.get row as the browser gets it (tRPC without a transformer: dates are ISO strings). */
export type RunRow = NonNullable<RouterOutputs['runs']['get']>;

/** The highest value seen for this key (a run id): a progress bar that only moves forward. */
function useForwardOnly(key: string, value: number): number {
  const seen = useRef({ key, value });
  if (seen.current.key !== key) seen.current = { key, value };
  else if (value > seen.current.value) seen.current.value = value;
  return seen.current.value;
}
