import type { EventSink, RunEventBody, RunStatus } from '../events.ts';
import type { PipelineGraph } from '../graph.ts';

/** What a node's run() gets besides its inputs and parsed params. */
export interface NodeRunContext {
  runId: string;
  nodeId: string;
  signal: AbortSignal;
  /** Emits node.progress / node.log / train.* for this node (nodeId filled in). */
  progress(phase: string, done: number, total: number, etaMs?: number): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  emit(event: RunEventBody): void;
  /** Resolved directories the runtime may use. */
  dirs: { dataDir: string; datasetsRoot: string; runDir: string; modelsDir: string; cacheDir: string };
  /** Cache key of this node (type + params + ancestor keys), for on-disk caches. */
  cacheKey: string;
}

export interface NodeRunResult {
  /** Output port name → value. */
  outputs: Record<string, unknown>;
  /** Small JSON summary shown on the node and in node.finished. */
  summary?: Record<string, unknown>;
}

export type NodeRunFn = (
  inputs: Record<string, unknown>,
  params: Record<string, unknown>,
  ctx: NodeRunContext,
) => Promise<NodeRunResult>;

/** An error a node throws on purpose, with a machine code for node.failed. */
export class NodeError extends Error {
  constructor(
    public readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'NodeError';
  }
}

export interface ExecuteOptions {
  runId: string;
  graph: PipelineGraph;
  sink: EventSink;
  signal?: AbortSignal;
  dirs: NodeRunContext['dirs'];
  /** Shared across runs in one process so unchanged nodes are reused. */
  cache?: OutputCache;
  /** Backend reported in run.started. */
  backend?: { name: string; device: string };
}

export interface OutputCache {
  get(key: string): { outputs: Record<string, unknown>; summary?: Record<string, unknown> } | undefined;
  set(key: string, value: { outputs: Record<string, unknown>; summary?: Record<string, unknown> }): void;
}

export interface ExecuteResult {
  status: RunStatus;
  /** nodeId → outputs of nodes that finished (ran or reused). */
  outputs: Record<string, Record<string, unknown>>;
  summaries: Record<string, Record<string, unknown>>;
  timings: Record<string, number>;
  cached: string[];
  failed?: { nodeId: string; code: string; message: string };
  /** Why the run did not succeed, in one sentence (same text as run.finished.error). */
  error?: string;
}
