/**
 * Pure fold of a run's event stream into what the UI shows (node states, curves, logs, status).
 * Events may arrive twice (history replay + live) or out of order (live before history after a
 * reconnect): the state keeps them ordered and unique by `seq`, so the result depends only on the
 * set of events received, never on their arrival order.
 */
import type { RunEvent, RunStatus, TrainBatchEvent, TrainEpochEvent } from '@defectflow/nodes';

/** `cancelled`: the node was running when the run was cancelled (neutral, not a failure). */
export type NodeRunState = 'queued' | 'running' | 'cached' | 'done' | 'failed' | 'cancelled';

export interface NodeProgress {
  phase: string;
  done: number;
  total: number;
  etaMs?: number;
  /** Event time of the progress report (ms since epoch), to age the ETA. */
  ts: number;
}

export interface NodeStateInfo {
  state: NodeRunState;
  nodeType?: string;
  /** 0..1 while running, when known. */
  progress?: number;
  phase?: string;
  etaMs?: number;
  etaTs?: number;
  /** Failure message, or a short status line. */
  message?: string;
  code?: string;
  summary?: Record<string, unknown>;
  durationMs?: number;
  /** For a cached node: the run (and node) that computed what was reused. */
  from?: { runId: string; nodeId: string };
}

/** A train.epoch event's numbers (epochs count from 1, as the event union says). */
export type EpochPoint = Omit<TrainEpochEvent, 'type' | 'etaMs'>;

export type BatchPoint = Omit<TrainBatchEvent, 'type'> & {
  /** Position on the epoch axis: epoch N ends at x = N. */
  x: number;
};

export interface LogLine {
  seq: number;
  ts: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  nodeId?: string;
}

export type OverallStatus = 'waiting' | 'running' | RunStatus;

export interface RunViewState {
  runId: string;
  /** Every event, ordered by seq, unique. */
  events: RunEvent[];
  lastSeq: number;
  status: OverallStatus;
  backend?: string;
  device?: string;
  startedTs?: number;
  finishedTs?: number;
  durationMs?: number;
  error?: string;
  nodes: Record<string, NodeStateInfo>;
  epochs: EpochPoint[];
  batches: BatchPoint[];
  logs: LogLine[];
}

export function initialRunState(runId: string): RunViewState {
  return {
    runId,
    events: [],
    lastSeq: 0,
    status: 'waiting',
    nodes: {},
    epochs: [],
    batches: [],
    logs: [],
  };
}

/** Adds events (any order, duplicates allowed) and returns the new state; `state` is not mutated. */
export function applyEvents(state: RunViewState, incoming: readonly RunEvent[]): RunViewState {
  const fresh = incoming.filter((e) => e.runId === state.runId || e.runId === undefined);
  if (fresh.length === 0) return state;
  const known = new Set(state.events.map((e) => e.seq));
  const unique = new Map<number, RunEvent>();
  for (const e of fresh) if (!known.has(e.seq) && Number.isFinite(e.seq)) unique.set(e.seq, e);
  if (unique.size === 0) return state;
  const added = [...unique.values()].sort((a, b) => a.seq - b.seq);
  const first = added[0] as RunEvent;
  if (first.seq > state.lastSeq) {
    // Common case: strictly newer events — fold incrementally.
    let next = cloneForAppend(state);
    for (const e of added) next = foldEvent(next, e);
    return next;
  }
  // Something older arrived late: rebuild from the merged, ordered list.
  const merged = [...state.events, ...added].sort((a, b) => a.seq - b.seq);
  let next = cloneForAppend(initialRunState(state.runId));
  for (const e of merged) next = foldEvent(next, e);
  return next;
}

function cloneForAppend(s: RunViewState): RunViewState {
  return {
    ...s,
    events: [...s.events],
    nodes: { ...s.nodes },
    epochs: [...s.epochs],
    batches: [...s.batches],
    logs: [...s.logs],
  };
}

/** Mutates the (already cloned) draft with one event, in seq order. */
function foldEvent(s: RunViewState, e: RunEvent): RunViewState {
  s.events.push(e);
  s.lastSeq = Math.max(s.lastSeq, e.seq);
  if (s.status === 'waiting' && e.type !== 'run.finished') {
    s.status = 'running';
    s.startedTs ??= e.ts;
  }
  const node = (id: string): NodeStateInfo => s.nodes[id] ?? { state: 'queued' };
  switch (e.type) {
    case 'run.started':
      s.backend = e.backend;
      s.device = e.device;
      s.startedTs = e.ts;
      break;
    case 'node.started':
      s.nodes[e.nodeId] = { ...node(e.nodeId), state: 'running', nodeType: e.nodeType, progress: 0 };
      break;
    case 'node.cached':
      s.nodes[e.nodeId] = {
        ...node(e.nodeId),
        state: 'cached',
        nodeType: e.nodeType,
        progress: 1,
        summary: e.summary,
        message: e.from ? `reused from run ${e.from.runId.slice(0, 8)}` : 'reused from cache',
        ...(e.from ? { from: e.from } : {}),
      };
      break;
    case 'node.progress': {
      const n = node(e.nodeId);
      const fraction = e.total > 0 ? clamp01(e.done / e.total) : undefined;
      s.nodes[e.nodeId] = {
        ...n,
        state: n.state === 'queued' ? 'running' : n.state,
        phase: e.phase,
        progress: fraction === undefined ? n.progress : nodeProgress(n, e.nodeId, s, e.phase, fraction),
        etaMs: e.etaMs,
        etaTs: e.ts,
        message: `${e.phase} ${e.done}/${e.total}`,
      };
      break;
    }
    case 'train.epoch': {
      const { type: _type, etaMs: _eta, runId: _run, seq: _seq, ts: _ts, ...point } = e;
      const existing = s.epochs.findIndex((p) => p.nodeId === e.nodeId && p.epoch === e.epoch);
      if (existing >= 0) s.epochs[existing] = point;
      else s.epochs.push(point);
      const n = node(e.nodeId);
      const doneEpochs = e.epoch;
      s.nodes[e.nodeId] = {
        ...n,
        state: n.state === 'queued' ? 'running' : n.state,
        phase: 'train',
        progress: e.epochs > 0 ? nodeProgress(n, e.nodeId, s, 'train', clamp01(doneEpochs / e.epochs)) : n.progress,
        etaMs: e.etaMs ?? n.etaMs,
        etaTs: e.etaMs !== undefined ? e.ts : n.etaTs,
        message: `epoch ${doneEpochs}/${e.epochs}`,
      };
      break;
    }
    case 'train.batch': {
      // Epochs and batches count from 1 (the event union): the last batch lands on the epoch's end.
      const batchDone = Math.min(e.batch, e.batches);
      const x = e.epoch - 1 + (e.batches > 0 ? batchDone / e.batches : 1);
      s.batches.push({ nodeId: e.nodeId, epoch: e.epoch, batch: e.batch, batches: e.batches, loss: e.loss, acc: e.acc, x });
      const n = node(e.nodeId);
      const epochs = s.epochs.find((p) => p.nodeId === e.nodeId)?.epochs;
      if (epochs && epochs > 0) {
        s.nodes[e.nodeId] = {
          ...n,
          state: n.state === 'queued' ? 'running' : n.state,
          progress: nodeProgress(n, e.nodeId, s, 'train', clamp01(x / epochs)),
        };
      }
      break;
    }
    case 'node.log':
      s.logs.push({ seq: e.seq, ts: e.ts, level: e.level, message: e.message, nodeId: e.nodeId });
      break;
    case 'node.finished':
      s.nodes[e.nodeId] = {
        ...node(e.nodeId),
        state: 'done',
        nodeType: e.nodeType,
        progress: 1,
        summary: e.summary,
        durationMs: e.durationMs,
        etaMs: undefined,
        message: undefined,
      };
      break;
    case 'node.failed':
      s.nodes[e.nodeId] = {
        ...node(e.nodeId),
        state: 'failed',
        nodeType: e.nodeType,
        code: e.code,
        message: e.message,
        etaMs: undefined,
      };
      s.logs.push({ seq: e.seq, ts: e.ts, level: 'error', message: `${e.code}: ${e.message}`, nodeId: e.nodeId });
      break;
    case 'run.finished':
      s.status = e.status;
      s.finishedTs = e.ts;
      s.durationMs = e.durationMs;
      s.error = e.error;
      // Nodes still marked running when the run ends were stopped: by a cancel (neutral) or a failure elsewhere.
      for (const [id, n] of Object.entries(s.nodes)) {
        if (n.state !== 'running') continue;
        const state: NodeRunState = e.status === 'succeeded' ? 'done' : e.status === 'cancelled' || e.status === 'interrupted' ? 'cancelled' : 'failed';
        s.nodes[id] = { ...n, state, message: e.status, etaMs: undefined };
      }
      break;
  }
  return s;
}

function clamp01(v: number): number {
  return Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : 0;
}

export function isFinished(status: OverallStatus): boolean {
  return status === 'succeeded' || status === 'failed' || status === 'cancelled' || status === 'interrupted';
}

/** How much one node counts toward overall progress: training dominates a run's time. */
/**
 * Share of a run's time per node type, from a default-template run on the steel sample (31.2 s:
 * train 29.6 s, dataset 0.8 s, evaluate 0.3 s, backbone 0.2 s, deploy 0.2 s, the rest < 0.1 s);
 * evaluate and dataset are kept larger than that, since on a cold cache or 100k images they are.
 */
const NODE_WEIGHTS: Record<string, number> = { train: 20, evaluate: 2, dataset: 1.5, backbone: 0.3, deploy: 0.3 };
const DEFAULT_WEIGHT = 0.1;

/**
 * Where each phase of a node lies in its own 0..1 progress, measured on the same run: the train node
 * spent 15 s extracting training features, 1 s on extra views, 1.5 s on validation features and 10 s
 * training. Phases report 0..1 each; mapped through these spans, a node's progress only moves forward.
 */
const PHASE_SPANS: Record<string, Array<[prefix: string, start: number, end: number]>> = {
  train: [
    ['features:val', 0.55, 0.6],
    ['features:', 0, 0.55],
    ['features', 0, 0.55],
    ['train', 0.6, 1],
    ['head', 0.6, 1],
    ['finetune', 0.6, 1],
  ],
  dataset: [
    ['scan', 0, 0.1],
    ['check', 0.1, 1],
  ],
};

/** A node's progress after `phase` reached `fraction`: mapped into the phase's span, never below what it was. */
function nodeProgress(n: NodeStateInfo, nodeId: string, s: RunViewState, phase: string, fraction: number): number {
  const spans = PHASE_SPANS[n.nodeType ?? s.nodes[nodeId]?.nodeType ?? ''] ?? [];
  const span = spans.find(([prefix]) => phase.startsWith(prefix));
  // A phase without a known span fills the rest of the node from where it stands.
  const [start, end] = span ? [span[1], span[2]] : [n.progress ?? 0, 1];
  return Math.max(n.progress ?? 0, clamp01(start + fraction * (end - start)));
}

export interface GraphNodeRef {
  id: string;
  type: string;
}

/**
 * Overall progress 0..1 across the graph's nodes (nodes not yet seen count as 0).
 * Without the graph, only the nodes seen so far are counted.
 */
export function overallProgress(state: RunViewState, graphNodes?: readonly GraphNodeRef[]): number {
  if (state.status === 'succeeded') return 1;
  const refs: GraphNodeRef[] =
    graphNodes && graphNodes.length > 0
      ? [...graphNodes]
      : Object.entries(state.nodes).map(([id, n]) => ({ id, type: n.nodeType ?? '' }));
  if (refs.length === 0) return 0;
  let total = 0;
  let done = 0;
  for (const ref of refs) {
    const n = state.nodes[ref.id];
    const w = NODE_WEIGHTS[n?.nodeType ?? ref.type] ?? DEFAULT_WEIGHT;
    total += w;
    if (!n) continue;
    if (n.state === 'done' || n.state === 'cached' || n.state === 'failed') done += w;
    // A cancelled node stopped where it was: the bar shows how far the run got.
    else if (n.state === 'running' || n.state === 'cancelled') done += w * (n.progress ?? 0);
  }
  return total > 0 ? clamp01(done / total) : 0;
}

/** Whether `phase` is the last part of a node of this type (its ETA is then the node's). */
function isFinalPhase(nodeType: string | undefined, phase: string | undefined): boolean {
  const span = (PHASE_SPANS[nodeType ?? ''] ?? []).find(([prefix]) => (phase ?? '').startsWith(prefix));
  return span === undefined || span[2] >= 1;
}

/**
 * Remaining time in ms, or null when unknown. A running node's own ETA (aged by the time since it was
 * reported) wins when it covers the rest of that node; an ETA for an earlier phase (feature extraction
 * before training) does not, so then it extrapolates from elapsed time and the weighted progress.
 */
export function estimateEtaMs(
  state: RunViewState,
  now: number,
  graphNodes?: readonly GraphNodeRef[],
): number | null {
  if (state.status !== 'running') return null;
  let reported: number | null = null;
  for (const n of Object.values(state.nodes)) {
    if (n.state !== 'running' || n.etaMs === undefined || n.etaTs === undefined || !isFinalPhase(n.nodeType, n.phase)) continue;
    const left = Math.max(0, n.etaMs - Math.max(0, now - n.etaTs));
    reported = reported === null ? left : Math.max(reported, left);
  }
  if (reported !== null) return reported;
  const p = overallProgress(state, graphNodes);
  if (state.startedTs === undefined || p < 0.02 || p >= 1) return null;
  const elapsed = Math.max(0, now - state.startedTs);
  return (elapsed * (1 - p)) / p;
}

/** "1:05", "12s", "1h 02m": short human durations for the panel. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) return '–';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}

/** The run whose training a cached train node reused (its curves are that run's), if any. */
export function reusedTrainingRun(state: Pick<RunViewState, 'nodes'>): string | null {
  const train = Object.values(state.nodes).find((n) => n.nodeType === 'train' && n.state === 'cached' && n.from);
  return train?.from?.runId ?? null;
}
