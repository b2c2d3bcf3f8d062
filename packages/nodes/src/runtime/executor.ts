import type { NodeDefinition } from '../definition.ts';
import { nodeDefinitions } from '../nodes/index.ts';
import { nodeName } from '../errors.ts';
import type { RunEventBody, RunStatus } from '../events.ts';
import type { GraphNode } from '../graph.ts';
import { topologicalOrder } from '../graph-algorithms.ts';
import { resolveParams } from '../registry.ts';
import { validateGraph } from '../validate.ts';
import { nodeCacheIdentity } from './cache-identity.ts';
import { computeCacheKeys } from './cache-key.ts';
import {
  type CachedOutput,
  type ExecuteOptions,
  type ExecuteResult,
  NodeError,
  type NodeRunContext,
  type NodeRunFn,
  type NodeRunResult,
} from './types.ts';

const OOM_PATTERN =
  /out of memory|\bOOM\b|failed to allocate|cannot allocate memory|allocation failed|ResourceExhausted|heap limit/i;

type Failure = { nodeId: string; code: string; message: string };
type Outcome = { kind: 'ok'; value: NodeRunResult } | { kind: 'error'; error: unknown } | { kind: 'aborted' };

/**
 * Runs a pipeline graph one node at a time in dependency order, reusing cached outputs, and reports
 * everything as events through `opts.sink`: run.started … run.finished. Never throws and never
 * leaves a rejected promise behind: node failures become node.failed, aborts become 'cancelled'.
 * `runFns` defaults to the engine-backed registry, loaded lazily so a broken engine cannot break
 * callers that pass their own.
 */
export async function execute(opts: ExecuteOptions, runFns?: Record<string, NodeRunFn>): Promise<ExecuteResult> {
  const run = new RunState(opts);
  try {
    return await executeGraph(opts, run, runFns);
  } catch (err) {
    // A bug in the executor itself: still end the run cleanly, with the reason.
    return run.finish('failed', `Executor error: ${errorMessage(err)}`);
  } finally {
    await run.end();
  }
}

/** Event emission and the result being built; nothing is emitted after run.finished. */
class RunState {
  readonly started = performance.now();
  finished = false;
  readonly result: ExecuteResult = { status: 'failed', outputs: {}, summaries: {}, timings: {}, cached: [] };
  /** What nodes asked to run at the end of the run (ctx.atRunEnd). */
  readonly atEnd: (() => unknown)[] = [];

  constructor(private readonly opts: ExecuteOptions) {}

  /** Lets go of what the run held in shared caches; never throws. */
  async end(): Promise<void> {
    try {
      this.opts.cache?.release?.(this.opts.runId);
    } catch {
      // A broken cache must not fail a finished run.
    }
    for (const fn of this.atEnd.splice(0)) {
      try {
        await fn();
      } catch {
        // Clean-up is best effort.
      }
    }
  }

  emit(event: RunEventBody): void {
    if (this.finished) return;
    try {
      this.opts.sink(event);
    } catch {
      // A failing sink (closed socket, full disk) must not take the run down with it.
    }
  }

  finish(status: RunStatus, error?: string): ExecuteResult {
    if (!this.finished) {
      const durationMs = Math.round(performance.now() - this.started);
      this.emit({ type: 'run.finished', status, ...(error ? { error } : {}), durationMs });
      this.finished = true;
      this.result.status = status;
      if (error) this.result.error = error;
    }
    return this.result;
  }
}

async function executeGraph(
  opts: ExecuteOptions,
  run: RunState,
  runFns: Record<string, NodeRunFn> | undefined,
): Promise<ExecuteResult> {
  const backend = opts.backend ?? { name: 'unknown', device: 'cpu' };
  run.emit({ type: 'run.started', backend: backend.name, device: backend.device });

  const definitions = opts.definitions ?? nodeDefinitions;
  const validation = validateGraph(opts.graph, definitions);
  if (!validation.ok || !validation.graph) {
    for (const error of validation.errors) {
      run.emit({ type: 'node.log', ...(error.nodeId ? { nodeId: error.nodeId } : {}), level: 'error', message: error.message });
    }
    const count = validation.errors.length;
    return run.finish('failed', `The graph is invalid (${count} problem${count === 1 ? '' : 's'}): ${validation.errors[0]?.message ?? ''}`);
  }
  const graph = validation.graph;
  if (opts.signal?.aborted) return run.finish('cancelled');

  let fns: Record<string, NodeRunFn>;
  try {
    fns = runFns ?? (await import('./run-functions.ts')).nodeRunFunctions;
  } catch (err) {
    const message = `Could not load the node run functions: ${errorMessage(err)}`;
    run.emit({ type: 'node.log', level: 'error', message });
    return run.finish('failed', message);
  }

  // Refuse up front rather than after an hour of training when a later node cannot run.
  const missing = graph.nodes.filter((n) => typeof fns[n.type] !== 'function');
  if (missing.length > 0) {
    for (const node of missing) {
      const message = `${nodeName(node)} cannot run: no run function for type "${node.type}" in this runtime.`;
      run.emit({ type: 'node.failed', nodeId: node.id, nodeType: node.type, code: 'not_implemented', message });
    }
    const first = missing[0] as GraphNode;
    run.result.failed = { nodeId: first.id, code: 'not_implemented', message: `No run function for type "${first.type}".` };
    return run.finish('failed', run.result.failed.message);
  }

  const params = new Map<string, Record<string, unknown>>();
  for (const node of graph.nodes) params.set(node.id, resolveParams(node.type, node.params, definitions) ?? {});
  // The key sees the stamps of files a node reads in place (a replaced backbone file); the run function sees its params.
  const keyParams = new Map(params);
  for (const node of graph.nodes) {
    const identity = nodeCacheIdentity[node.type];
    const stamp = identity ? await identity(params.get(node.id) ?? {}, opts.dirs) : null;
    if (stamp !== null) keyParams.set(node.id, { ...params.get(node.id), '#files': stamp });
  }
  const keys = computeCacheKeys(graph, definitions, keyParams);
  const order = topologicalOrder(
    graph.nodes.map((n) => n.id),
    graph.edges,
  );

  for (const id of order) {
    if (opts.signal?.aborted) return run.finish('cancelled');
    const node = graph.nodes.find((n) => n.id === id) as GraphNode;
    const def = definitions.find((d) => d.type === node.type) as NodeDefinition;
    const cacheKey = keys.get(id) as string;
    run.emit({ type: 'node.started', nodeId: id, nodeType: node.type });

    const hit = cacheGet(opts, cacheKey, opts.runId);
    if (hit) {
      run.result.outputs[id] = hit.outputs;
      if (hit.summary) run.result.summaries[id] = hit.summary;
      run.result.cached.push(id);
      run.emit({
        type: 'node.cached',
        nodeId: id,
        nodeType: node.type,
        ...(hit.summary ? { summary: hit.summary } : {}),
        ...(hit.origin ? { from: hit.origin } : {}),
      });
      continue;
    }

    const inputs: Record<string, unknown> = {};
    for (const port of def.inputs) {
      const edge = graph.edges.find((e) => e.target === id && e.targetHandle === port.name);
      if (edge) inputs[port.name] = run.result.outputs[edge.source]?.[edge.sourceHandle];
    }
    const ctx = makeContext(opts, run, node, cacheKey);
    const startedAt = performance.now();
    const fn = fns[node.type] as NodeRunFn;
    const outcome = await raceAbort(() => fn(inputs, params.get(id) ?? {}, ctx), opts.signal);

    if (outcome.kind === 'aborted' || (outcome.kind === 'error' && opts.signal?.aborted)) {
      run.emit({ type: 'node.log', nodeId: id, level: 'warn', message: `${nodeName(node)} was cancelled while running.` });
      return run.finish('cancelled');
    }
    const failure =
      outcome.kind === 'error'
        ? toFailure(node, outcome.error)
        : checkResult(node, outcome.value, graph.edges.filter((e) => e.source === id).map((e) => e.sourceHandle));
    if (failure) {
      run.emit({ type: 'node.failed', nodeId: id, nodeType: node.type, code: failure.code, message: failure.message });
      run.result.failed = failure;
      return run.finish('failed', `${nodeName(node)} failed: ${failure.message}`);
    }

    const value = (outcome as { value: NodeRunResult }).value;
    const durationMs = Math.round(performance.now() - startedAt);
    const summary = value.summary ?? {};
    run.result.outputs[id] = value.outputs;
    run.result.summaries[id] = summary;
    run.result.timings[id] = durationMs;
    cacheSet(opts, cacheKey, { outputs: value.outputs, summary, origin: { runId: opts.runId, nodeId: id } }, opts.runId);
    run.emit({ type: 'node.finished', nodeId: id, nodeType: node.type, summary, durationMs });
  }
  return run.finish('succeeded');
}

/**
 * Progress events a node may send per second (plus every phase's first and last): one per image
 * of a 100k-image dataset check would be 100k stored events and socket messages.
 */
export const PROGRESS_EVENTS_PER_SECOND = 5;

function makeContext(opts: ExecuteOptions, run: RunState, node: GraphNode, cacheKey: string): NodeRunContext {
  const nodeId = node.id;
  let last = { phase: '', at: Number.NEGATIVE_INFINITY };
  return {
    runId: opts.runId,
    nodeId,
    signal: opts.signal ?? new AbortController().signal,
    dirs: opts.dirs,
    cacheKey,
    limits: opts.limits ?? {},
    atRunEnd(fn) {
      run.atEnd.push(fn);
    },
    progress(phase, done, total, etaMs) {
      const now = performance.now();
      // Always a phase's first and last report; in between at most PROGRESS_EVENTS_PER_SECOND.
      if (phase === last.phase && done < total && now - last.at < 1000 / PROGRESS_EVENTS_PER_SECOND) return;
      last = { phase, at: now };
      run.emit({ type: 'node.progress', nodeId, phase, done, total, ...(etaMs === undefined ? {} : { etaMs }) });
    },
    log(level, message) {
      run.emit({ type: 'node.log', nodeId, level, message });
    },
    emit(event) {
      // Only the executor starts and ends runs; a node's events always carry its own id.
      if (event.type === 'run.started' || event.type === 'run.finished') return;
      run.emit({ ...event, nodeId } as RunEventBody);
    },
  };
}

/** Resolves when the node settles or the signal aborts, whichever comes first; a late rejection is swallowed. */
function raceAbort(start: () => Promise<NodeRunResult>, signal: AbortSignal | undefined): Promise<Outcome> {
  return new Promise<Outcome>((resolve) => {
    const onAbort = () => settle({ kind: 'aborted' });
    const settle = (outcome: Outcome) => {
      signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    if (signal?.aborted) return settle({ kind: 'aborted' });
    signal?.addEventListener('abort', onAbort, { once: true });
    let promise: Promise<NodeRunResult>;
    try {
      promise = Promise.resolve(start());
    } catch (error) {
      return settle({ kind: 'error', error });
    }
    promise.then(
      (value) => settle({ kind: 'ok', value }),
      (error: unknown) => settle({ kind: 'error', error }),
    );
  });
}

function toFailure(node: GraphNode, error: unknown): Failure {
  const message = errorMessage(error);
  if (error instanceof NodeError || isNodeErrorLike(error)) return { nodeId: node.id, code: error.code, message };
  if (OOM_PATTERN.test(message)) return { nodeId: node.id, code: 'out_of_memory', message };
  return { nodeId: node.id, code: 'node_error', message };
}

/** A NodeError from another copy of this module (e.g. a bundled engine) still carries its code. */
function isNodeErrorLike(error: unknown): error is { code: string } {
  return error instanceof Error && error.name === 'NodeError' && typeof (error as { code?: unknown }).code === 'string';
}

function checkResult(node: GraphNode, value: unknown, usedOutputs: string[]): Failure | undefined {
  const outputs = (value as { outputs?: unknown } | null | undefined)?.outputs;
  if (outputs === null || typeof outputs !== 'object') {
    return { nodeId: node.id, code: 'node_error', message: `${nodeName(node)} returned no outputs.` };
  }
  const missing = usedOutputs.find((port) => (outputs as Record<string, unknown>)[port] === undefined);
  if (missing !== undefined) {
    return {
      nodeId: node.id,
      code: 'missing_output',
      message: `${nodeName(node)} produced no "${missing}" output, which a connected node needs.`,
    };
  }
  return undefined;
}

function cacheGet(opts: ExecuteOptions, key: string, owner: string) {
  try {
    return opts.cache?.get(key, owner);
  } catch {
    return undefined; // A broken cache is a miss, not a failed run.
  }
}

function cacheSet(opts: ExecuteOptions, key: string, value: CachedOutput, owner: string) {
  try {
    opts.cache?.set(key, value, owner);
  } catch {
    // Not caching is always safe.
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
