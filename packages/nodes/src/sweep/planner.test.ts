import { describe, expect, it } from 'vitest';
import { createDefaultPipeline } from '../default-pipeline.ts';
import type { PipelineGraph } from '../graph.ts';
import { resolveParams } from '../registry.ts';
import { createHalvingPlanner, createPlanner, currentParams, gridValues, halvingSchedule, planTrials } from './planner.ts';
import { type SweepSpecInput, sweepSpecSchema } from './spec.ts';
import { checkSweep } from './trial-graph.ts';
import type { TrialPlan, TrialRecord } from './types.ts';

const graph = createDefaultPipeline();
const spec = (input: SweepSpecInput) => sweepSpecSchema.parse(input);
const values = (plans: TrialPlan[], key: string) => plans.map((p) => p.params[key]);
const distinct = (plans: TrialPlan[]) => new Set(plans.map((p) => JSON.stringify(p.params))).size;

function withTrainEpochs(epochs: number): PipelineGraph {
  const g = structuredClone(graph);
  const train = g.nodes.find((n) => n.type === 'train');
  if (train) train.params = { ...train.params, epochs };
  return g;
}

describe('grid', () => {
  it('is the cartesian product, indexed 0..n-1, each combination once', () => {
    const plans = planTrials(
      graph,
      spec({
        strategy: 'grid',
        dimensions: [
          { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.4, steps: 5 },
          { nodeId: 'train', param: 'optimizer', kind: 'list', values: ['adam', 'sgd'] },
        ],
      }),
    );
    expect(plans).toHaveLength(10);
    expect(plans.map((p) => p.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(distinct(plans)).toBe(10);
    // Evenly spaced, without float noise (0.30000000000000004).
    expect([...new Set(values(plans, 'head.dropout'))].sort()).toEqual([0, 0.1, 0.2, 0.3, 0.4]);
    expect(plans.every((p) => p.rung === 0 && p.upstreamKey === '')).toBe(true);
  });

  it('rounds integer params and drops the duplicates rounding makes', () => {
    const axis = { dim: { nodeId: 'head', param: 'filters', kind: 'range' as const, min: 4, max: 8, steps: 10 }, integer: true };
    expect(gridValues(axis)).toEqual([4, 5, 6, 7, 8]);
    const plans = planTrials(graph, spec({ strategy: 'grid', baseline: false, dimensions: [{ ...axis.dim }] }));
    expect(values(plans, 'head.filters')).toEqual([4, 5, 6, 7, 8]);
  });

  it('spaces a log dimension evenly in the exponent', () => {
    const plans = planTrials(
      graph,
      spec({ strategy: 'grid', baseline: false, dimensions: [{ nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-2, steps: 5 }] }),
    );
    expect(values(plans, 'train.learningRate')).toEqual([1e-4, 0.000316227766017, 1e-3, 0.00316227766017, 1e-2]);
  });

  it('takes a seeded subset of a grid larger than the budget, and says the budget cut it', () => {
    const input: SweepSpecInput = {
      strategy: 'grid',
      budget: { trials: 7 },
      dimensions: [
        { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.5, steps: 6 },
        { nodeId: 'train', param: 'batchSize', kind: 'list', values: [8, 16, 32, 64] },
      ],
    };
    const a = planTrials(graph, spec(input));
    expect(a).toHaveLength(7);
    expect(distinct(a)).toBe(7);
    expect(planTrials(graph, spec(input))).toEqual(a);
    expect(planTrials(graph, spec({ ...input, seed: 2 }))).not.toEqual(a);
    expect(createPlanner(graph, spec(input)).truncated).toBe(true);
    expect(createPlanner(graph, spec({ ...input, budget: { trials: 24 } })).truncated).toBe(false);
  });
});

describe('random', () => {
  const input: SweepSpecInput = {
    strategy: 'random',
    budget: { trials: 30 },
    dimensions: [
      { nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-1 },
      { nodeId: 'head', param: 'filters', kind: 'range', min: 16, max: 256 },
      { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.5 },
      { nodeId: 'train', param: 'optimizer', kind: 'list', values: ['adam', 'sgd'] },
    ],
  };

  it('is reproducible by seed and differs across seeds', () => {
    const a = planTrials(graph, spec(input));
    expect(a).toHaveLength(30);
    expect(planTrials(graph, spec(input))).toEqual(a);
    const b = planTrials(graph, spec({ ...input, seed: 7 }));
    expect(values(b, 'train.learningRate')).not.toEqual(values(a, 'train.learningRate'));
  });

  it('draws within bounds: integers whole, log-uniform over the decades, every list value', () => {
    const plans = planTrials(graph, spec(input));
    const lr = values(plans, 'train.learningRate') as number[];
    expect(lr.every((v) => v >= 1e-4 && v <= 1e-1)).toBe(true);
    // Log-uniform over three decades: draws below 1e-3 and above 1e-2 (uniform would put 99 % above 1e-3).
    expect(lr.filter((v) => v < 1e-3).length).toBeGreaterThanOrEqual(3);
    expect(lr.filter((v) => v > 1e-2).length).toBeGreaterThanOrEqual(3);
    const filters = values(plans, 'head.filters') as number[];
    expect(filters.every((v) => Number.isInteger(v) && v >= 16 && v <= 256)).toBe(true);
    expect(new Set(values(plans, 'train.optimizer'))).toEqual(new Set(['adam', 'sgd']));
    // Every proposal is a valid trial of the pipeline.
    expect(distinct(plans)).toBe(30);
  });

  it('runs a finite space whole, without duplicates, when it is smaller than the budget', () => {
    const plans = planTrials(
      graph,
      spec({
        budget: { trials: 20 },
        baseline: false,
        dimensions: [
          { nodeId: 'train', param: 'optimizer', kind: 'list', values: ['adam', 'sgd'] },
          { nodeId: 'train', param: 'batchSize', kind: 'range', min: 15.6, max: 18.2 },
        ],
      }),
    );
    expect(plans).toHaveLength(6); // 2 optimizers × batch sizes 16, 17, 18
    expect(distinct(plans)).toBe(6);
    expect(createPlanner(graph, spec({ budget: { trials: 20 }, dimensions: [{ nodeId: 'train', param: 'optimizer', kind: 'list', values: ['adam', 'sgd'] }] })).truncated).toBe(false);
  });
});

describe('the baseline: trial 1 is the pipeline as it is', () => {
  const dims: SweepSpecInput['dimensions'] = [
    { nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-1 },
    { nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.5 },
    { nodeId: 'train', param: 'optimizer', kind: 'list', values: ['sgd', 'adam'] },
  ];
  const current = (g: PipelineGraph, nodeId: string, param: string) => {
    const node = g.nodes.find((n) => n.id === nodeId);
    return resolveParams(node?.type ?? '', node?.params)?.[param];
  };

  it('random: trial 0 holds the current values of the varied params and takes one of the budget\'s trials', () => {
    const plans = planTrials(graph, spec({ budget: { trials: 8 }, dimensions: dims }));
    expect(plans).toHaveLength(8);
    expect(plans[0]).toMatchObject({
      index: 0,
      baseline: true,
      params: {
        'train.learningRate': current(graph, 'train', 'learningRate'),
        'head.dropout': current(graph, 'head', 'dropout'),
        'train.optimizer': current(graph, 'train', 'optimizer'),
      },
    });
    expect(plans.slice(1).every((p) => p.baseline === undefined)).toBe(true);
    // The random draws differ from the baseline, and are the same draws as without it (minus the last).
    expect(distinct(plans)).toBe(8);
    expect(plans.slice(1).map((p) => p.params)).toEqual(planTrials(graph, spec({ budget: { trials: 7 }, dimensions: dims, baseline: false })).map((p) => p.params));
  });

  it('uses the node type\'s default for a param the node leaves unset, and the node\'s own value otherwise', () => {
    const g = structuredClone(graph);
    const head = g.nodes.find((n) => n.id === 'head');
    const train = g.nodes.find((n) => n.id === 'train');
    if (!head || !train) throw new Error('default pipeline without head or train');
    delete head.params.dropout;
    train.params = { ...train.params, learningRate: 0.0042 };
    const params = currentParams(g, { dimensions: sweepSpecSchema.parse({ dimensions: dims }).dimensions });
    expect(params).toEqual({ 'train.learningRate': 0.0042, 'head.dropout': current(graph, 'head', 'dropout'), 'train.optimizer': 'adam' });
    expect(typeof params['head.dropout']).toBe('number');
    expect(planTrials(g, spec({ budget: { trials: 3 }, dimensions: dims }))[0]?.params).toEqual(params);
  });

  it('grid: the current values\' grid point runs first (no extra trial); off the grid, the baseline is one more trial', () => {
    const onGrid = planTrials(
      graph,
      spec({ strategy: 'grid', dimensions: [{ nodeId: 'head', param: 'dropout', kind: 'list', values: [0.1, current(graph, 'head', 'dropout') as number, 0.3] }] }),
    );
    expect(values(onGrid, 'head.dropout')).toEqual([current(graph, 'head', 'dropout'), 0.1, 0.3]);
    expect(onGrid.map((p) => p.baseline === true)).toEqual([true, false, false]);
    const offGrid = planTrials(graph, spec({ strategy: 'grid', dimensions: [{ nodeId: 'head', param: 'dropout', kind: 'list', values: [0.35, 0.45] }] }));
    expect(values(offGrid, 'head.dropout')).toEqual([current(graph, 'head', 'dropout'), 0.35, 0.45]);
    expect(offGrid[0]?.baseline).toBe(true);
    // A grid larger than the budget: the baseline's point is one of the budget's seeded picks.
    const subset = planTrials(
      graph,
      spec({ strategy: 'grid', budget: { trials: 4 }, dimensions: [{ nodeId: 'head', param: 'dropout', kind: 'range', min: 0, max: 0.5, steps: 11 }] }),
    );
    expect(subset).toHaveLength(4);
    expect(subset[0]).toMatchObject({ baseline: true, params: { 'head.dropout': current(graph, 'head', 'dropout') } });
    expect(distinct(subset)).toBe(4);
  });

  it('random over a small finite space: the baseline first, every other point once', () => {
    const plans = planTrials(
      graph,
      spec({ budget: { trials: 20 }, dimensions: [{ nodeId: 'train', param: 'optimizer', kind: 'list', values: ['adam', 'sgd'] }, { nodeId: 'train', param: 'batchSize', kind: 'list', values: [16, 32] }] }),
    );
    expect(plans).toHaveLength(4);
    expect(plans[0]).toMatchObject({ baseline: true, params: { 'train.optimizer': 'adam', 'train.batchSize': 32 } });
    expect(distinct(plans)).toBe(4);
  });

  it('is left out with baseline: false', () => {
    const plans = planTrials(graph, spec({ budget: { trials: 5 }, dimensions: dims, baseline: false }));
    expect(plans.some((p) => p.baseline)).toBe(false);
    expect(plans.some((p) => JSON.stringify(p.params) === JSON.stringify(currentParams(graph, { dimensions: sweepSpecSchema.parse({ dimensions: dims }).dimensions })))).toBe(false);
  });
});

describe('grouping by upstream', () => {
  it('puts trials with the same feature-changing values next to each other, keyed by those values only', () => {
    const plans = planTrials(
      graph,
      spec({
        budget: { trials: 24 },
        dimensions: [
          { nodeId: 'augment', param: 'copies', kind: 'list', values: [0, 1, 2] },
          { nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-2 },
        ],
      }),
    );
    expect(plans.map((p) => p.index)).toEqual(plans.map((_, i) => i));
    const keys = plans.map((p) => p.upstreamKey);
    expect(new Set(keys).size).toBe(3);
    // Adjacent: the key changes exactly twice along the list.
    expect(keys.filter((k, i) => i > 0 && k !== keys[i - 1])).toHaveLength(2);
    for (const p of plans) expect(p.upstreamKey).toBe(JSON.stringify({ 'augment.copies': p.params['augment.copies'] }));
  });

  it('counts a head kind change as upstream (a dense head caches pooled vectors), dropout not', () => {
    const plans = planTrials(
      graph,
      spec({
        strategy: 'grid',
        dimensions: [
          { nodeId: 'head', param: 'dropout', kind: 'list', values: [0.1, 0.2] },
          { nodeId: 'head', param: 'kind', kind: 'list', values: ['spatial', 'dense'] },
        ],
      }),
    );
    expect(plans.map((p) => p.upstreamKey)).toEqual([
      '{"head.kind":"spatial"}',
      '{"head.kind":"spatial"}',
      '{"head.kind":"dense"}',
      '{"head.kind":"dense"}',
    ]);
  });
});

describe('successive halving', () => {
  it('schedules rungs of eta× epochs up to the train epochs, n0 as large as the budget allows', () => {
    expect(halvingSchedule({ minEpochs: 3, maxEpochs: 30, eta: 3, budget: 20 })).toEqual([
      { epochs: 3, trials: 12 },
      { epochs: 9, trials: 4 },
      { epochs: 27, trials: 2 },
      { epochs: 30, trials: 1 },
    ]);
    expect(halvingSchedule({ minEpochs: 5, maxEpochs: 4, eta: 2, budget: 6 })).toEqual([{ epochs: 4, trials: 6 }]);
  });

  const halving: SweepSpecInput = {
    strategy: 'halving',
    budget: { trials: 10 },
    halving: { eta: 3, minEpochs: 3 },
    dimensions: [{ nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-1 }],
  };

  /** Plays the planner to its end: every trial succeeds with the score `score` gives it. */
  function play(g: PipelineGraph, input: SweepSpecInput, score: (p: TrialPlan) => number) {
    const planner = createHalvingPlanner(g, spec(input));
    const finished: TrialRecord[] = [];
    const rungs: TrialPlan[][] = [];
    for (let plans = planner.next(finished); plans.length > 0; plans = planner.next(finished)) {
      rungs.push(plans);
      for (const p of plans) finished.push({ ...p, outcome: { status: 'succeeded', score: score(p), reusedFeatures: true, durationMs: 1 } });
    }
    return { rungs, finished };
  }

  it('promotes the best 1/eta of each rung with growing epochs, within the trial budget', () => {
    const { rungs, finished } = play(withTrainEpochs(9), halving, (p) => -Math.abs(Math.log10(p.params['train.learningRate'] as number) + 2));
    // Train epochs 9: rungs at 3 and 9 epochs; 7 + ceil(7 / 3) = 10 trials, the budget.
    expect(rungs.map((r) => r.length)).toEqual([7, 3]);
    expect(finished).toHaveLength(10);
    expect(rungs[0]?.every((p) => p.params['train.epochs'] === 3 && p.rung === 0)).toBe(true);
    expect(rungs[1]?.every((p) => p.params['train.epochs'] === 9 && p.rung === 1)).toBe(true);
    // The promoted ones are the three learning rates closest to 1e-2 (the best scores), indices continuing.
    const byCloseness = [...(rungs[0] as TrialPlan[])].sort(
      (a, b) => Math.abs(Math.log10(a.params['train.learningRate'] as number) + 2) - Math.abs(Math.log10(b.params['train.learningRate'] as number) + 2),
    );
    expect(new Set(values(rungs[1] as TrialPlan[], 'train.learningRate'))).toEqual(new Set(values(byCloseness.slice(0, 3), 'train.learningRate')));
    expect(rungs[1]?.map((p) => p.index)).toEqual([7, 8, 9]);
  });

  it('enters the baseline in rung 0 with the first rung\'s epochs; it is promoted on merit, still marked', () => {
    const lr = (p: TrialPlan) => p.params['train.learningRate'] as number;
    // Scores favour learning rates near the pipeline's own (1e-3): the baseline is promoted through every rung.
    const near = play(withTrainEpochs(9), halving, (p) => -Math.abs(Math.log10(lr(p)) + 3));
    expect(near.rungs[0]?.[0]).toMatchObject({ index: 0, rung: 0, baseline: true, params: { 'train.learningRate': 0.001, 'train.epochs': 3 } });
    expect(near.rungs[0]?.filter((p) => p.baseline)).toHaveLength(1);
    expect(near.rungs[1]?.find((p) => p.baseline)).toMatchObject({ rung: 1, params: { 'train.learningRate': 0.001, 'train.epochs': 9 } });
    // Scores favour the largest learning rates: the baseline is not among the promoted.
    const far = play(withTrainEpochs(9), halving, (p) => lr(p));
    expect(far.rungs[1]?.some((p) => p.baseline)).toBe(false);
  });

  it('promotes the lowest validation loss when minimising, and never a failed trial', () => {
    const planner = createHalvingPlanner(withTrainEpochs(9), spec({ ...halving, metric: 'valLoss' }));
    const rung0 = planner.next([]);
    const finished: TrialRecord[] = rung0.map((p) => ({
      ...p,
      outcome: p.index === 0 ? { status: 'failed', score: null, reusedFeatures: false, durationMs: 1 } : { status: 'succeeded', score: p.index, reusedFeatures: true, durationMs: 1 },
    }));
    expect(planner.next(finished).map((p) => p.params['train.learningRate'])).toEqual([1, 2, 3].map((i) => rung0[i]?.params['train.learningRate']));
    expect(planner.next(finished)).toEqual([]);
  });
});

describe('checkSweep for halving', () => {
  it('refuses a dimension on the train epochs, naming the dimension and field', () => {
    const check = checkSweep(graph, { strategy: 'halving', dimensions: [{ nodeId: 'train', param: 'epochs', kind: 'list', values: [5, 10] }] });
    expect(check.ok).toBe(false);
    const problem = !check.ok ? check.problems[0] : undefined;
    expect(problem).toMatchObject({ code: 'sweep_param_not_allowed', dimension: 0, nodeId: 'train', field: 'epochs' });
    expect(problem?.message).toMatch(/Dimension 1 \(train\.epochs\): successive halving sets the train epochs/);
    expect(checkSweep(graph, { strategy: 'random', dimensions: [{ nodeId: 'train', param: 'epochs', kind: 'list', values: [5, 10] }] }).ok).toBe(true);
  });
});
