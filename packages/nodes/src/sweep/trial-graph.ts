/**
 * From a pipeline and a sweep to the graphs that run: a trial (params applied, evaluate on `val`, no deploy),
 * the final run of the best params (evaluate as the user set it, no deploy), and the check of a sweep against
 * its pipeline that names the node and field of every problem before anything is queued.
 */
import type { z } from 'zod';
import { getNodeDefinition } from '../nodes/index.ts';
import type { GraphError } from '../errors.ts';
import type { PipelineGraph } from '../graph.ts';
import { validateGraph } from '../validate.ts';
import {
  paramKey,
  SWEEPABLE_NODE_TYPES,
  type SweepDimension,
  type SweepMetric,
  type SweepSpec,
  type SweepValue,
  splitParamKey,
  sweepSpecSchema,
  type TrialParams,
} from './spec.ts';

export interface SweepProblem {
  code: 'sweep_invalid' | 'sweep_node_missing' | 'sweep_param_not_allowed' | 'sweep_value_invalid' | 'sweep_graph_invalid';
  message: string;
  /** Index into spec.dimensions, when the problem is one dimension's. */
  dimension?: number;
  nodeId?: string;
  field?: string;
  graphErrors?: GraphError[];
}

export type SweepCheck = { ok: true; spec: SweepSpec; graph: PipelineGraph } | { ok: false; problems: SweepProblem[] };

/** The graph with the trial's values written into its nodes' params (a copy; the input is untouched). */
export function applyTrialParams(graph: PipelineGraph, params: TrialParams): PipelineGraph {
  const out = structuredClone(graph);
  for (const [key, value] of Object.entries(params)) {
    const { nodeId, param } = splitParamKey(key);
    const node = out.nodes.find((n) => n.id === nodeId);
    if (node) node.params = { ...node.params, [param]: value };
  }
  return out;
}

/** Without deploy nodes (and their edges): sweeps never write models. */
function withoutDeploy(graph: PipelineGraph): PipelineGraph {
  const dropped = new Set(graph.nodes.filter((n) => n.type === 'deploy').map((n) => n.id));
  return {
    ...graph,
    nodes: graph.nodes.filter((n) => !dropped.has(n.id)),
    edges: graph.edges.filter((e) => !dropped.has(e.source) && !dropped.has(e.target)),
  };
}

/** What one trial runs: the trial's params, every evaluate node on the validation split, no deploy. */
export function trialGraph(graph: PipelineGraph, params: TrialParams): PipelineGraph {
  const out = withoutDeploy(applyTrialParams(graph, params));
  for (const node of out.nodes) if (node.type === 'evaluate') node.params = { ...node.params, split: 'val' };
  return out;
}

/** The final run: the best params, evaluate as the pipeline has it (test by default), no deploy. */
export function finalGraph(graph: PipelineGraph, params: TrialParams): PipelineGraph {
  return withoutDeploy(applyTrialParams(graph, params));
}

/**
 * A trial's score from its nodes' summaries (node.finished / node.cached): macroF1, accuracy and auroc from the
 * first evaluate node (fractions 0..1, as the summary has them), valLoss from the first train node. null = not available.
 */
export function trialScore(
  graph: PipelineGraph,
  summaries: Record<string, Record<string, unknown> | undefined>,
  metric: SweepMetric,
): number | null {
  const type = metric === 'valLoss' ? 'train' : 'evaluate';
  const node = graph.nodes.find((n) => n.type === type && summaries[n.id]);
  const value = node ? summaries[node.id]?.[metric] : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

/** Epochs the trial's first train node trained (its summary's `epochs`: early stopping may end before its param); null = not reported. */
export function trialEpochs(graph: PipelineGraph, summaries: Record<string, Record<string, unknown> | undefined>): number | null {
  const node = graph.nodes.find((n) => n.type === 'train' && summaries[n.id]);
  const value = node ? summaries[node.id]?.epochs : undefined;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function schemaOf(type: string): z.ZodObject | undefined {
  const def = getNodeDefinition(type);
  return def?.params as unknown as z.ZodObject | undefined;
}

/** The values a dimension can take at its ends (range/log) or in full (list), for checking. */
function probeValues(dim: SweepDimension): SweepValue[] {
  return dim.kind === 'list' ? dim.values : [dim.min, dim.max];
}

/** Is this param an integer in its node's schema (ranges of it are rounded)? */
export function isIntegerParam(type: string, param: string, value: number): boolean {
  const schema = schemaOf(type);
  if (!schema) return false;
  const fractional = schema.safeParse({ [param]: value + 0.5 });
  const whole = schema.safeParse({ [param]: Math.round(value) });
  return whole.success && !fractional.success;
}

/**
 * Checks a sweep spec (unknown input) against its pipeline: the spec's shape, the pipeline's own validity,
 * every dimension's node (exists, sweepable type), param (known to the node type) and values (accepted by the
 * node's schema, min < max). All problems at once.
 */
export function checkSweep(graph: unknown, spec: unknown): SweepCheck {
  const problems: SweepProblem[] = [];
  const parsed = sweepSpecSchema.safeParse(spec);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = issue.path.map(String).join('.');
      const dimension = issue.path[0] === 'dimensions' && typeof issue.path[1] === 'number' ? issue.path[1] : undefined;
      problems.push({ code: 'sweep_invalid', field, dimension, message: `Sweep field "${field}": ${issue.message}.` });
    }
  }
  const validated = validateGraph(graph);
  if (!validated.ok || !validated.graph) {
    problems.push({
      code: 'sweep_graph_invalid',
      message: `The pipeline has ${validated.errors.length} problem(s); fix them before sweeping: ${validated.errors[0]?.message ?? ''}`,
      graphErrors: validated.errors,
    });
  }
  if (!parsed.success || !validated.graph) return { ok: false, problems };
  const pipeline = validated.graph;
  const seen = new Set<string>();
  parsed.data.dimensions.forEach((dim, i) => {
    const key = paramKey(dim.nodeId, dim.param);
    const where = `Dimension ${i + 1} (${key})`;
    const node = pipeline.nodes.find((n) => n.id === dim.nodeId);
    if (!node) {
      problems.push({ code: 'sweep_node_missing', dimension: i, nodeId: dim.nodeId, message: `${where}: the pipeline has no node "${dim.nodeId}".` });
      return;
    }
    if (!(SWEEPABLE_NODE_TYPES as readonly string[]).includes(node.type)) {
      problems.push({
        code: 'sweep_param_not_allowed',
        dimension: i,
        nodeId: node.id,
        field: dim.param,
        message: `${where}: ${node.type} node params cannot be swept (only ${SWEEPABLE_NODE_TYPES.join(', ')}: the data split and the outputs stay fixed so trials compare on the same validation images).`,
      });
      return;
    }
    const schema = schemaOf(node.type);
    if (!schema || !(dim.param in schema.shape)) {
      problems.push({ code: 'sweep_param_not_allowed', dimension: i, nodeId: node.id, field: dim.param, message: `${where}: a ${node.type} node has no param "${dim.param}".` });
      return;
    }
    if (seen.has(key)) {
      problems.push({ code: 'sweep_invalid', dimension: i, nodeId: node.id, field: dim.param, message: `${where}: swept twice.` });
      return;
    }
    seen.add(key);
    if (dim.kind !== 'list' && !(dim.min < dim.max)) {
      problems.push({ code: 'sweep_value_invalid', dimension: i, nodeId: node.id, field: dim.param, message: `${where}: min (${dim.min}) must be below max (${dim.max}).` });
      return;
    }
    for (const value of probeValues(dim)) {
      const candidate = dim.kind !== 'list' && typeof value === 'number' && isIntegerParam(node.type, dim.param, value) ? Math.round(value) : value;
      const result = schema.safeParse({ ...node.params, [dim.param]: candidate });
      if (!result.success) {
        const issue = result.error.issues.find((x) => x.path[0] === dim.param) ?? result.error.issues[0];
        problems.push({
          code: 'sweep_value_invalid',
          dimension: i,
          nodeId: node.id,
          field: dim.param,
          message: `${where}: ${JSON.stringify(value)} is not a valid ${dim.param}: ${issue?.message ?? 'rejected'}.`,
        });
        break;
      }
    }
  });
  problems.push(...halvingProblems(pipeline, parsed.data));
  return problems.length > 0 ? { ok: false, problems } : { ok: true, spec: parsed.data, graph: pipeline };
}

/** Successive halving owns the (first) train node's epochs: it needs one, and no dimension may sweep them. */
function halvingProblems(graph: PipelineGraph, spec: SweepSpec): SweepProblem[] {
  if (spec.strategy !== 'halving') return [];
  const train = graph.nodes.find((n) => n.type === 'train');
  if (!train) {
    return [{ code: 'sweep_invalid', field: 'strategy', message: 'Sweep field "strategy": successive halving needs a train node (it grows the train epochs rung by rung); the pipeline has none.' }];
  }
  const i = spec.dimensions.findIndex((d) => d.nodeId === train.id && d.param === 'epochs');
  if (i === -1) return [];
  return [
    {
      code: 'sweep_param_not_allowed',
      dimension: i,
      nodeId: train.id,
      field: 'epochs',
      message: `Dimension ${i + 1} (${paramKey(train.id, 'epochs')}): successive halving sets the train epochs itself (halving.minEpochs, ×eta each rung, up to the node's epochs); sweep other params or use grid or random.`,
    },
  ];
}

/**
 * Did the trial reuse cached features? True when its train node was reused whole (node.cached: `cachedNodeIds`) or
 * its summary says no feature view was extracted (featuresExtracted 0: every view came from the feature cache).
 */
export function trialReusedFeatures(
  graph: PipelineGraph,
  summaries: Record<string, Record<string, unknown> | undefined>,
  cachedNodeIds: readonly string[],
): boolean {
  const train = graph.nodes.find((n) => n.type === 'train');
  if (!train) return false;
  if (cachedNodeIds.includes(train.id)) return true;
  return summaries[train.id]?.featuresExtracted === 0;
}
