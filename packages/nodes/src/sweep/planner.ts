/**
 * Which trials a sweep runs (browser-safe). Grid and random propose the whole list up front; successive halving
 * proposes one rung at a time, each from the scores of the last. Every proposal is seeded by spec.seed, so the
 * same spec on the same pipeline gives the same trials wherever it is planned.
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

/** Stable grouping by upstream key (groups in order of first appearance), then indices from `first`. */
function grouped(axes: Axis[], list: { params: TrialParams; rung: number }[], first = 0): TrialPlan[] {
  const groups = new Map<string, { params: TrialParams; rung: number }[]>();
  for (const item of list) {
    const key = upstreamKeyOf(axes, item.params);
    const group = groups.get(key) ?? [];
    group.push(item);
    groups.set(key, group);
  }
  let index = first;
  const out: TrialPlan[] = [];
  for (const [upstreamKey, group] of groups) for (const item of group) out.push({ index: index++, params: item.params, rung: item.rung, upstreamKey });
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
  tuples: SweepValue[][];
  /** Fewer trials than the search space holds (the trial budget cut it). */
  truncated: boolean;
}

function gridProposal(axes: Axis[], budget: number, random: Random): Proposal {
  const lists = axes.map(gridValues);
  const size = lists.reduce((n, l) => n * l.length, 1);
  if (size <= budget) return { tuples: Array.from({ length: size }, (_, i) => productAt(lists, i)), truncated: false };
  return { tuples: sampleIndices(random, size, budget).map((i) => productAt(lists, i)), truncated: true };
}

/** How many redraws a random trial gets to differ from every earlier one before a duplicate is accepted. */
const DUPLICATE_REDRAWS = 100;

function randomProposal(axes: Axis[], count: number, random: Random): Proposal {
  // A space of at most `count` distinct points (lists, small integer ranges) is run whole, in a seeded order.
  const finite = axes.map((a) => finiteValues(a, count));
  if (finite.every((v) => v !== null)) {
    const lists = finite as SweepValue[][];
    const size = lists.reduce((n, l) => n * l.length, 1);
    if (size <= count) return { tuples: shuffle(random, Array.from({ length: size }, (_, i) => productAt(lists, i))), truncated: false };
  }
  const seen = new Set<string>();
  const tuples: SweepValue[][] = [];
  while (tuples.length < count) {
    let tuple = axes.map((a) => drawValue(a, random));
    for (let tries = 0; seen.has(canonicalJson(tuple)) && tries < DUPLICATE_REDRAWS; tries++) tuple = axes.map((a) => drawValue(a, random));
    seen.add(canonicalJson(tuple));
    tuples.push(tuple);
  }
  return { tuples, truncated: true };
}

/**
 * The trials of a grid or random sweep, at most spec.budget.trials, grouped so trials sharing an upstream (the same
 * features at the freeze boundary) are adjacent, indexed 0..n-1 in that order. Halving proposes rung by rung:
 * use createPlanner or createHalvingPlanner.
 */
export function planTrials(graph: PipelineGraph, spec: SweepSpec): TrialPlan[] {
  return planWhole(graph, spec).trials;
}

function planWhole(graph: PipelineGraph, spec: SweepSpec): { trials: TrialPlan[]; truncated: boolean } {
  if (spec.strategy === 'halving') throw new Error('planTrials plans grid and random sweeps; halving proposes rung by rung (createHalvingPlanner)');
  const axes = axesOf(graph, spec);
  const random = seededRandom(spec.seed);
  const proposal = spec.strategy === 'grid' ? gridProposal(axes, spec.budget.trials, random) : randomProposal(axes, spec.budget.trials, random);
  return { trials: grouped(axes, proposal.tuples.map((t) => ({ params: paramsOf(axes, t), rung: 0 }))), truncated: proposal.truncated };
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
 * Successive halving on the pipeline's first train node: rung 0 trains n0 random configurations for
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
  const propose = (list: { params: TrialParams; rung: number }[]) => {
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
        const { tuples } = randomProposal(axes, first.trials, seededRandom(spec.seed));
        return propose(tuples.map((t) => ({ params: { ...paramsOf(axes, t), [epochsKey]: first.epochs }, rung: 0 })));
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
      return propose(ranked.map((r) => ({ params: { ...r.params, [epochsKey]: epochs }, rung })));
    },
  };
}
