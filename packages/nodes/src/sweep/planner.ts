/**
 * Which trials a sweep runs (browser-safe). Grid and random propose the whole list up front; successive halving
 * proposes one rung at a time, each from the scores of the last. Every proposal is seeded by spec.seed, so the
 * same spec on the same pipeline gives the same trials wherever it is planned. With spec.baseline, trial 1 is the
 * pipeline's current settings (currentParams), marked `baseline`.
 */
import { canonicalJson } from '../canonical-json.ts';
import type { PipelineGraph } from '../graph.ts';
import { resolveParams } from '../registry.ts';
import { type Random, randomInt, seededRandom, shuffle } from './random.ts';
import { higherIsBetter, paramKey, type SweepDimension, type SweepSpec, type SweepValue, type TrialParams } from './spec.ts';
import { isIntegerParam } from './trial-graph.ts';
import type { TrialPlan, TrialRecord } from './types.ts';

/** One swept param, resolved against the pipeline. */
interface Axis {
  key: string;
  dim: SweepDimension;
  /** An integer param swept over a range: values are rounded. */
  integer: boolean;
  /** Its values change the features cached at the freeze boundary (see upstreamKey). */
  upstream: boolean;
}

/**
 * Params whose values change the activations cached at the freeze boundary: everything on the augment, backbone and
 * freeze nodes, and the head's kind and pooling (a dense head caches pooled vectors, a spatial one the maps).
 */
function changesFeatures(nodeType: string, param: string): boolean {
  if (nodeType === 'augment' || nodeType === 'backbone' || nodeType === 'freeze') return true;
  return nodeType === 'head' && (param === 'kind' || param === 'pooling');
}

function axesOf(graph: PipelineGraph, spec: SweepSpec): Axis[] {
  return spec.dimensions.map((dim) => {
    const type = graph.nodes.find((n) => n.id === dim.nodeId)?.type ?? '';
    return {
      key: paramKey(dim.nodeId, dim.param),
      dim,
      integer: dim.kind !== 'list' && isIntegerParam(type, dim.param, dim.min),
      upstream: changesFeatures(type, dim.param),
    };
  });
}

/** Drops float noise (0.30000000000000004) so values read and compare cleanly. */
function tidy(value: number, digits = 12): number {
  return Number(value.toPrecision(digits));
}

function dedupe(values: SweepValue[]): SweepValue[] {
  const seen = new Set<string>();
  return values.filter((v) => {
    const key = canonicalJson(v);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The grid points of one axis: the list, or `steps` points from min to max (log-spaced for log), ints rounded and de-duplicated. */
export function gridValues(axis: { dim: SweepDimension; integer: boolean }): SweepValue[] {
  const { dim } = axis;
  if (dim.kind === 'list') return dedupe(dim.values);
  const { min, max, steps } = dim;
  const values = Array.from({ length: steps }, (_, i) => {
    if (i === 0) return min;
    if (i === steps - 1) return max;
    const t = i / (steps - 1);
    return dim.kind === 'log' ? Math.exp(Math.log(min) + (Math.log(max) - Math.log(min)) * t) : min + (max - min) * t;
  });
  return dedupe(values.map((v) => (axis.integer ? Math.round(v) : tidy(v))));
}

/** The whole integer interval an integer range can take (random draws pick from all of it). */
function integerBounds(dim: { min: number; max: number }): [number, number] {
  const lo = Math.ceil(dim.min);
  const hi = Math.floor(dim.max);
  return lo <= hi ? [lo, hi] : [Math.round(dim.min), Math.round(dim.min)];
}

/** One random value of an axis: uniform over a list or range, log-uniform over a log range; floats to 4 significant digits. */
function drawValue(axis: Axis, random: Random): SweepValue {
  const { dim } = axis;
  if (dim.kind === 'list') return dim.values[randomInt(random, dim.values.length)] as SweepValue;
  if (axis.integer) {
    const [lo, hi] = integerBounds(dim);
    if (dim.kind === 'range') return lo + randomInt(random, hi - lo + 1);
    const v = Math.round(Math.exp(Math.log(Math.max(lo, dim.min)) + (Math.log(hi) - Math.log(Math.max(lo, dim.min))) * random()));
    return Math.min(hi, Math.max(lo, v));
  }
  const u = random();
  const v = dim.kind === 'log' ? Math.exp(Math.log(dim.min) + (Math.log(dim.max) - Math.log(dim.min)) * u) : dim.min + (dim.max - dim.min) * u;
  return Math.min(dim.max, Math.max(dim.min, tidy(v, 4)));
}

/** The distinct values an axis can take, or null when there are too many to list (a float range). */
function finiteValues(axis: Axis, limit: number): SweepValue[] | null {
  const { dim } = axis;
  if (dim.kind === 'list') return dedupe(dim.values);
  if (!axis.integer) return null;
  const [lo, hi] = integerBounds(dim);
  if (hi - lo + 1 > limit) return null;
  return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
}

function paramsOf(axes: Axis[], values: SweepValue[]): TrialParams {
  const params: TrialParams = {};
  axes.forEach((axis, i) => {
    params[axis.key] = values[i] as SweepValue;
  });
  return params;
}

/** Canonical JSON of the values of the feature-changing axes ('' when none varies the features). */
export function upstreamKeyOf(axes: readonly { key: string; upstream: boolean }[], params: TrialParams): string {
  const upstream = axes.filter((a) => a.upstream);
  if (upstream.length === 0) return '';
  return canonicalJson(Object.fromEntries(upstream.map((a) => [a.key, params[a.key]])));
}

/**
 * The varied params at their current values in the pipeline (the node's own, else its type's default): the baseline
 * trial's params. A param with neither (an optional one left unset) is left out: that trial keeps the node as it is.
 */
export function currentParams(graph: PipelineGraph, spec: Pick<SweepSpec, 'dimensions'>): TrialParams {
  const params: TrialParams = {};
  for (const dim of spec.dimensions) {
    const node = graph.nodes.find((n) => n.id === dim.nodeId);
    if (!node) continue;
    const value = (resolveParams(node.type, node.params) ?? node.params)[dim.param];
    if (typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean') params[paramKey(dim.nodeId, dim.param)] = value;
  }
  return params;
}

/** A proposed trial before it gets its index and upstream key. */
interface Candidate {
  params: TrialParams;
  rung: number;
  baseline?: boolean;
}

/** Stable grouping by upstream key (groups in order of first appearance), then indices from `first`. */
function grouped(axes: Axis[], list: Candidate[], first = 0): TrialPlan[] {
  const groups = new Map<string, Candidate[]>();
  for (const item of list) {
    const key = upstreamKeyOf(axes, item.params);
    const group = groups.get(key) ?? [];
    group.push(item);
    groups.set(key, group);
  }
  let index = first;
  const out: TrialPlan[] = [];
  for (const [upstreamKey, group] of groups) {
    for (const item of group) out.push({ index: index++, params: item.params, rung: item.rung, upstreamKey, ...(item.baseline ? { baseline: true } : {}) });
  }
  return out;
}

/** Value tuples of the cartesian product, by their mixed-radix index (last axis fastest). */
function productAt(lists: SweepValue[][], index: number): SweepValue[] {
  const out: SweepValue[] = new Array(lists.length);
  let rest = index;
  for (let i = lists.length - 1; i >= 0; i--) {
    const list = lists[i] as SweepValue[];
    out[i] = list[rest % list.length] as SweepValue;
    rest = Math.floor(rest / list.length);
  }
  return out;
}

/** `count` distinct indices of [0, size), ascending, seeded. */
function sampleIndices(random: Random, size: number, count: number): number[] {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(randomInt(random, size));
  return [...picked].sort((a, b) => a - b);
}

interface Proposal {
  /** In run order; the baseline, when there is one, first. */
  candidates: Candidate[];
  /** Fewer trials than the search space holds (the trial budget cut it). */
  truncated: boolean;
}

const sameParams = (a: TrialParams, b: TrialParams) => canonicalJson(a) === canonicalJson(b);

/** Where the baseline sits in the grid (mixed-radix index, last axis fastest), -1 when a value is not a grid point. */
function gridIndexOf(axes: Axis[], lists: SweepValue[][], params: TrialParams): number {
  let index = 0;
  for (const [i, axis] of axes.entries()) {
    const list = lists[i] as SweepValue[];
    const value = params[axis.key];
    const at = value === undefined ? -1 : list.findIndex((v) => canonicalJson(v) === canonicalJson(value));
    if (at < 0) return -1;
    index = index * list.length + at;
  }
  return index;
}

/**
 * The whole grid when it fits the budget, else a seeded subset of `budget` points. The baseline goes first: as its
 * grid point when the current values are one (in a subset, one of the budget's points), else as an extra trial.
 */
function gridProposal(axes: Axis[], budget: number, random: Random, baseline: TrialParams | null): Proposal {
  const lists = axes.map(gridValues);
  const size = lists.reduce((n, l) => n * l.length, 1);
  const onGrid = baseline ? gridIndexOf(axes, lists, baseline) : -1;
  const truncated = size > budget;
  let indices: number[];
  if (!truncated) indices = Array.from({ length: size }, (_, i) => i);
  else if (onGrid < 0) indices = sampleIndices(random, size, budget);
  // The other budget - 1 points from the grid without the baseline's.
  else indices = sampleIndices(random, size - 1, budget - 1).map((i) => (i >= onGrid ? i + 1 : i));
  const points = indices.filter((i) => i !== onGrid).map((i) => ({ params: paramsOf(axes, productAt(lists, i)), rung: 0 }));
  return { candidates: baseline ? [{ params: baseline, rung: 0, baseline: true }, ...points] : points, truncated };
}

/** How many redraws a random trial gets to differ from every earlier one before a duplicate is accepted. */
const DUPLICATE_REDRAWS = 100;

/** `count` random configurations; the baseline, when given, is the first of them and the others differ from it. */
function randomProposal(axes: Axis[], count: number, random: Random, baseline: TrialParams | null): Proposal {
  const first: Candidate[] = baseline ? [{ params: baseline, rung: 0, baseline: true }] : [];
  const draws = count - first.length;
  // A space of at most `draws` other points (lists, small integer ranges) is run whole, in a seeded order.
  const finite = axes.map((a) => finiteValues(a, count));
  if (finite.every((v) => v !== null)) {
    const lists = finite as SweepValue[][];
    const size = lists.reduce((n, l) => n * l.length, 1);
    if (size <= count + 1) {
      const others = Array.from({ length: size }, (_, i) => paramsOf(axes, productAt(lists, i))).filter((p) => !baseline || !sameParams(p, baseline));
      if (others.length <= draws) return { candidates: [...first, ...shuffle(random, others).map((params) => ({ params, rung: 0 }))], truncated: false };
    }
  }
  const seen = new Set<string>(baseline ? [canonicalJson(baseline)] : []);
  const out = [...first];
  while (out.length < count) {
    let params = paramsOf(axes, axes.map((a) => drawValue(a, random)));
    for (let tries = 0; seen.has(canonicalJson(params)) && tries < DUPLICATE_REDRAWS; tries++) params = paramsOf(axes, axes.map((a) => drawValue(a, random)));
    seen.add(canonicalJson(params));
    out.push({ params, rung: 0 });
  }
  return { candidates: out, truncated: true };
}

/**
 * The trials of a grid or random sweep, at most spec.budget.trials (plus the baseline when it is off a grid), grouped
 * so trials sharing an upstream (the same features at the freeze boundary) are adjacent, indexed 0..n-1 in that order
 * (the baseline's group first, so it is trial 0). Halving proposes rung by rung:
 * use createPlanner or createHalvingPlanner.
 */
export function planTrials(graph: PipelineGraph, spec: SweepSpec): TrialPlan[] {
  return planWhole(graph, spec).trials;
}

function planWhole(graph: PipelineGraph, spec: SweepSpec): { trials: TrialPlan[]; truncated: boolean } {
  if (spec.strategy === 'halving') throw new Error('planTrials plans grid and random sweeps; halving proposes rung by rung (createHalvingPlanner)');
  const axes = axesOf(graph, spec);
  const random = seededRandom(spec.seed);
  const baseline = spec.baseline ? currentParams(graph, spec) : null;
  const proposal =
    spec.strategy === 'grid' ? gridProposal(axes, spec.budget.trials, random, baseline) : randomProposal(axes, spec.budget.trials, random, baseline);
  return { trials: grouped(axes, proposal.candidates), truncated: proposal.truncated };
}

/** Proposes trials as the sweep goes; the driver asks again once every proposed trial has finished. */
export interface TrialPlanner {
  /** The next trials to run given every finished trial so far; [] when the sweep has nothing more to propose. */
  next(finished: readonly TrialRecord[]): TrialPlan[];
  /** True when the trial budget cut the search short (a grid larger than the budget, random draws). */
  readonly truncated: boolean;
}

/** The planner of a spec's strategy. */
export function createPlanner(graph: PipelineGraph, spec: SweepSpec): TrialPlanner {
  if (spec.strategy === 'halving') return createHalvingPlanner(graph, spec);
  const whole = planWhole(graph, spec);
  let proposed = false;
  return {
    truncated: whole.truncated,
    next() {
      if (proposed) return [];
      proposed = true;
      return whole.trials;
    },
  };
}

export interface HalvingRung {
  epochs: number;
  /** Trials planned in the rung (fewer run when some fail). */
  trials: number;
}

/**
 * The rungs of successive halving: minEpochs, ×eta each rung, up to (and ending at) maxEpochs; rung k+1 keeps
 * ceil(n_k / eta) trials. n0 is the most that keeps the total within `budget` trials.
 */
export function halvingSchedule(opts: { minEpochs: number; maxEpochs: number; eta: number; budget: number }): HalvingRung[] {
  const epochs = [Math.min(opts.minEpochs, opts.maxEpochs)];
  while ((epochs.at(-1) as number) < opts.maxEpochs) epochs.push(Math.min((epochs.at(-1) as number) * opts.eta, opts.maxEpochs));
  // A budget below one trial per rung keeps the first rungs only.
  const rungEpochs = epochs.slice(0, Math.max(1, opts.budget));
  const sizes = (n0: number) => {
    const out = [n0];
    while (out.length < rungEpochs.length) out.push(Math.ceil((out.at(-1) as number) / opts.eta));
    return out;
  };
  const total = (n0: number) => sizes(n0).reduce((a, b) => a + b, 0);
  let n0 = 1;
  while (total(n0 + 1) <= opts.budget) n0++;
  return sizes(n0).map((trials, i) => ({ epochs: rungEpochs[i] as number, trials }));
}

/**
 * Successive halving on the pipeline's first train node: rung 0 trains n0 configurations (the baseline and random ones) for
 * halving.minEpochs epochs (written into each trial's params as the train node's `epochs`); each later rung
 * retrains the best ceil(n/eta) succeeded trials of the one before with eta× the epochs, until the train node's own
 * epochs. Trials of a rung wait for the whole rung before the next is proposed.
 */
export function createHalvingPlanner(graph: PipelineGraph, spec: SweepSpec): TrialPlanner {
  const train = graph.nodes.find((n) => n.type === 'train');
  if (!train) throw new Error('successive halving needs a train node: its epochs grow from rung to rung');
  const maxEpochs = Number(resolveParams('train', train.params)?.epochs ?? train.params.epochs ?? 30);
  const epochsKey = paramKey(train.id, 'epochs');
  const rungs = halvingSchedule({ minEpochs: spec.halving.minEpochs, maxEpochs, eta: spec.halving.eta, budget: spec.budget.trials });
  const axes = axesOf(graph, spec);
  const sign = higherIsBetter(spec.metric) ? -1 : 1;
  let rung = -1;
  let nextIndex = 0;
  const propose = (list: Candidate[]) => {
    const plans = grouped(axes, list, nextIndex);
    nextIndex += plans.length;
    return plans;
  };
  return {
    truncated: false,
    next(finished) {
      if (rung + 1 >= rungs.length) return [];
      if (rung === -1) {
        rung = 0;
        const first = rungs[0] as HalvingRung;
        const baseline = spec.baseline ? currentParams(graph, spec) : null;
        const { candidates } = randomProposal(axes, first.trials, seededRandom(spec.seed), baseline);
        return propose(candidates.map((c) => ({ ...c, params: { ...c.params, [epochsKey]: first.epochs } })));
      }
      const last = finished.filter((r) => r.rung === rung);
      const keep = Math.ceil(last.length / spec.halving.eta);
      const ranked = last
        .filter((r) => r.outcome?.status === 'succeeded' && r.outcome.score !== null)
        .sort((a, b) => sign * ((a.outcome?.score as number) - (b.outcome?.score as number)) || a.index - b.index)
        .slice(0, keep);
      rung++;
      if (ranked.length === 0) {
        rung = rungs.length;
        return [];
      }
      const epochs = (rungs[rung] as HalvingRung).epochs;
      return propose(ranked.map((r) => ({ params: { ...r.params, [epochsKey]: epochs }, rung, baseline: r.baseline })));
    },
  };
}
