import type { EventSink, RunEventBody, RunStatus } from '../events.ts';
import type { NodeDefinition } from '../definition.ts';
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
  /** Resource limits of this process (the runner's env); absent fields take the engine's defaults. */
  limits?: RuntimeLimits;
  /** Runs `fn` once the whole run has ended (any status): to release what the run held in a shared cache. */
  atRunEnd?(fn: () => unknown): void;
}

/** Limits the node run functions apply (each from an env variable of the runner). */
export interface RuntimeLimits {
  /** FEATURE_CACHE_MAX_BYTES: on-disk feature cache cap (LRU eviction). */
  featureCacheMaxBytes?: number;
  /** FEATURE_CACHE_MEMORY_BYTES: in-memory feature cache budget (LRU). */
  featureCacheMemoryBytes?: number;
  /** IMAGE_MAX_PIXELS: images over this many pixels are unreadable. */
  imageMaxPixels?: number;
}

export interface NodeRunResult {
  /** Output port name → value. */
  outputs: Record<string, unknown>;
  /** Small JSON summary shown on the node and in node.finished. */
  summary?: Record<string, unknown>;
}

/**
 * A node's run function. `P` is its params as the definition's zod schema outputs them (`z.output<typeof params>`,
 * defaults filled in); the executor and stubs see the untyped form (`NodeRunFn` with no argument).
 */
export type NodeRunFn<P = Record<string, unknown>> = (
  inputs: Record<string, unknown>,
  params: P,
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
  /** Passed to every node as ctx.limits. */
  limits?: RuntimeLimits;
  /** The node catalogue the graph is checked against (default: nodeDefinitions); pass its run functions too. */
  definitions?: readonly NodeDefinition[];
}

/** A node's outputs kept for reuse, and where they were computed (a rerun's report points there). */
export interface CachedOutput {
  outputs: Record<string, unknown>;
  summary?: Record<string, unknown>;
  origin?: { runId: string; nodeId: string };
}

/**
 * `owner` is the run that uses an entry: a bounded cache must not free what it holds before
 * `release(owner)`, which the executor calls when the run ends.
 */
export interface OutputCache {
  get(key: string, owner?: string): CachedOutput | undefined;
  set(key: string, value: CachedOutput, owner?: string): void;
  release?(owner: string): void;
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
