import { describe, expect, it } from 'vitest';
import { createDefaultPipeline } from '../default-pipeline.ts';
import type { PipelineGraph } from '../graph.ts';
import { runSweep } from './driver.ts';
import { type SweepSpecInput, sweepSpecSchema } from './spec.ts';
import { trialReusedFeatures } from './trial-graph.ts';
import type { RunSweepOptions, TrialOutcome, TrialPlan } from './types.ts';

const graph = createDefaultPipeline();
/** A grid of 6 learning rates; without the baseline unless a test asks (it adds a 7th: 1e-3 is not a grid point). */
const spec = (input: Partial<SweepSpecInput> = {}) =>
  sweepSpecSchema.parse({
    strategy: 'grid',
    baseline: false,
    dimensions: [{ nodeId: 'train', param: 'learningRate', kind: 'log', min: 1e-4, max: 1e-1, steps: 6 }],
    ...input,
  });
const ok = (score: number | null, extra: Partial<TrialOutcome> = {}): TrialOutcome => ({ status: 'succeeded', score, reusedFeatures: true, durationMs: 1, ...extra });
const failed = (score: number | null = null): TrialOutcome => ({ status: 'failed', score, reusedFeatures: false, durationMs: 1, error: 'boom' });

/** A runTrial whose trials finish only when the test says so. */
function gate() {
  const pending = new Map<number, (o: TrialOutcome) => void>();
  const started: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const waiters: (() => void)[] = [];
  const runTrial: RunSweepOptions['runTrial'] = (plan) =>
    new Promise((resolve) => {
      started.push(plan.index);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      pending.set(plan.index, (o) => {
        inFlight--;
        pending.delete(plan.index);
        resolve(o);
      });
      for (const w of waiters.splice(0)) w();
    });
  /** Resolves once `n` trials have started. */
  const startedCount = async (n: number) => {
    while (started.length < n) await new Promise<void>((r) => waiters.push(r));
  };
  const finish = async (index: number, outcome: TrialOutcome) => {
    pending.get(index)?.(outcome);
    // Let the driver react (start the next trial) before the test looks again.
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { runTrial, started, pending, startedCount, finish, max: () => maxInFlight };
}

describe('runSweep', () => {
  it('keeps at most `parallel` trials in flight and starts them in plan order', async () => {
    const g = gate();
    const sweep = runSweep({ graph, spec: spec({ parallel: 2 }), runTrial: g.runTrial });
    await g.startedCount(2);
    expect(g.started).toEqual([0, 1]);
    await g.finish(1, ok(0.5));
    await g.startedCount(3);
    expect(g.started).toEqual([0, 1, 2]);
    for (let i = 0; i < 6; i++) {
      await g.startedCount(Math.min(6, i + 2));
      await g.finish(i, ok(i / 10));
    }
    const result = await sweep;
    expect(g.max()).toBe(2);
    expect(result.trials.map((t) => t.index)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(result.stoppedBy).toBe('done');
    expect(result.best?.index).toBe(1); // 0.5, above every i / 10 but trial 5's (0.5, a later index)
  });

  it('runs each trial on its trial graph: params applied, evaluation on val, no deploy', async () => {
    const graphs: PipelineGraph[] = [];
    const plans: TrialPlan[] = [];
    await runSweep({
      graph,
      spec: spec({ budget: { trials: 2 }, strategy: 'random' }),
      runTrial: async (plan, g) => {
        plans.push(plan);
        graphs.push(g);
        return ok(1);
      },
    });
    expect(graphs).toHaveLength(2);
    for (const [i, g] of graphs.entries()) {
      expect(g.nodes.find((n) => n.id === 'train')?.params.learningRate).toBe(plans[i]?.params['train.learningRate']);
      expect(g.nodes.find((n) => n.id === 'evaluate')?.params.split).toBe('val');
      expect(g.nodes.some((n) => n.type === 'deploy')).toBe(false);
    }
  });

  it('stops starting trials when the minutes budget is spent; the running one finishes', async () => {
    let clock = 0;
    const result = await runSweep({
      graph,
      spec: spec({ parallel: 1, budget: { trials: 20, minutes: 2.5 } }),
      now: () => clock,
      runTrial: async () => {
        clock += 60_000; // each trial takes a minute of the fake clock
        return ok(1);
      },
    });
    // Started at 0, 1 and 2 minutes; at 3 minutes the budget of 2.5 is spent.
    expect(result.trials).toHaveLength(3);
    expect(result.trials.every((t) => t.outcome?.status === 'succeeded')).toBe(true);
    expect(result.stoppedBy).toBe('minutes');
  });

  it('cancels: no new trial starts, the in-flight ones are waited for and reported', async () => {
    const g = gate();
    const controller = new AbortController();
    const finished: number[] = [];
    const sweep = runSweep({ graph, spec: spec({ parallel: 2 }), runTrial: g.runTrial, signal: controller.signal, onTrialFinished: (r) => finished.push(r.index) });
    await g.startedCount(2);
    controller.abort();
    await g.finish(0, ok(0.9));
    await g.finish(1, { status: 'cancelled', score: null, reusedFeatures: false, durationMs: 1 });
    const result = await sweep;
    expect(g.started).toEqual([0, 1]);
    expect(finished).toEqual([0, 1]);
    expect(result.stoppedBy).toBe('cancelled');
    expect(result.best?.index).toBe(0);
  });

  it('minimises validation loss, and higher metrics otherwise', async () => {
    const scores = [0.4, 0.2, 0.9, 0.2, 0.6, 0.5];
    const runTrial: RunSweepOptions['runTrial'] = async (plan) => ok(scores[plan.index] as number);
    const byLoss = await runSweep({ graph, spec: spec({ metric: 'valLoss' }), runTrial });
    expect(byLoss.best?.index).toBe(1); // 0.2 twice: the earlier trial
    const byF1 = await runSweep({ graph, spec: spec({ metric: 'macroF1' }), runTrial });
    expect(byF1.best?.index).toBe(2);
  });

  it('never picks a failed trial or one without a score; all failed → no best', async () => {
    const mixed = await runSweep({
      graph,
      spec: spec(),
      runTrial: async (plan) => (plan.index === 0 ? failed(0.99) : plan.index === 1 ? ok(null) : plan.index === 2 ? ok(0.3) : ok(0.1)),
    });
    expect(mixed.best?.index).toBe(2);
    const throwing = await runSweep({
      graph,
      spec: spec(),
      runTrial: async (plan) => {
        if (plan.index % 2) throw new Error('runner went away');
        return failed();
      },
    });
    expect(throwing.trials).toHaveLength(6);
    expect(throwing.trials[1]?.outcome).toMatchObject({ status: 'failed', error: 'runner went away' });
    expect(throwing.best).toBeNull();
  });

  it('halving waits for each rung before promoting; the best is over every rung, ties to more epochs trained', async () => {
    const g = structuredClone(graph);
    const train = g.nodes.find((n) => n.id === 'train');
    if (train) train.params = { ...train.params, epochs: 9 };
    const inFlight: TrialPlan[] = [];
    const overlaps: string[] = [];
    const halving = (scoreOf: (plan: TrialPlan) => number) =>
      runSweep({
        graph: g,
        spec: spec({ strategy: 'halving', budget: { trials: 10 }, parallel: 3, halving: { eta: 3, minEpochs: 3 } }),
        runTrial: async (plan) => {
          if (inFlight.some((p) => p.rung !== plan.rung)) overlaps.push(`${plan.index}`);
          inFlight.push(plan);
          await new Promise((r) => setTimeout(r, 1));
          inFlight.splice(inFlight.indexOf(plan), 1);
          return ok(scoreOf(plan), { epochs: plan.params['train.epochs'] as number });
        },
      });
    // Rung 0 (3 epochs) scores 0.9 for trial 0: above every rung-1 trial (0.5), so it is the best, short or not.
    const result = await halving((plan) => (plan.rung === 0 ? (plan.index === 0 ? 0.9 : 0.05 * plan.index) : 0.5));
    expect(overlaps).toEqual([]);
    expect(result.trials.map((t) => t.rung)).toEqual([0, 0, 0, 0, 0, 0, 0, 1, 1, 1]);
    expect(result.trials.slice(7).every((t) => t.params['train.epochs'] === 9)).toBe(true);
    expect(result.best?.index).toBe(0);
    expect(result.stoppedBy).toBe('done');
    // The same score at 3 and at 9 epochs: the trial that trained longer (rung 1, the earliest of them) wins the tie.
    const tied = await halving(() => 0.7);
    expect(tied.best).toMatchObject({ index: 7, rung: 1 });
  });

  it('best: ties go to the trial that trained more epochs, then to the lower index', async () => {
    const outcomes: TrialOutcome[] = [ok(0.8, { epochs: 5 }), ok(0.8, { epochs: 12 }), ok(0.8, { epochs: 12 }), ok(0.7, { epochs: 30 }), ok(0.8), ok(0.6)];
    const result = await runSweep({ graph, spec: spec(), runTrial: async (plan) => outcomes[plan.index] as TrialOutcome });
    expect(result.best?.index).toBe(1);
  });

  it('runs the baseline first (the pipeline\'s own values); a sweep that finds nothing better reports it as the best', async () => {
    const plans: TrialPlan[] = [];
    const result = await runSweep({
      graph,
      spec: spec({ baseline: true, parallel: 1 }),
      runTrial: async (plan) => {
        plans.push(plan);
        return ok(plan.baseline ? 0.9 : 0.5);
      },
    });
    expect(plans).toHaveLength(7);
    expect(plans[0]).toMatchObject({ index: 0, baseline: true, params: { 'train.learningRate': graph.nodes.find((n) => n.id === 'train')?.params.learningRate } });
    expect(result.best).toMatchObject({ index: 0, baseline: true });
  });
});

describe('trialReusedFeatures', () => {
  it('is true when the train node was reused whole or extracted no feature view', () => {
    expect(trialReusedFeatures(graph, {}, ['dataset', 'train'])).toBe(true);
    expect(trialReusedFeatures(graph, { train: { featuresCached: 18, featuresExtracted: 0 } }, [])).toBe(true);
    expect(trialReusedFeatures(graph, { train: { featuresCached: 0, featuresExtracted: 18 } }, [])).toBe(false);
    // A summary from before the counts existed says nothing: not reused.
    expect(trialReusedFeatures(graph, { train: { epochs: 3 } }, [])).toBe(false);
  });
});
