/**
 * The sweep UI's pure parts: what the dialog offers and proposes, the spec it builds and the problems it shows
 * next to each row (checkSweep's own), and the chart options and table helpers of the sweep page.
 */
import { checkSweep, createDefaultPipeline, paramKey, type PipelineGraph, type SweepSpec, serializeRegistry, sweepSpecSchema } from '@defectflow/nodes';
import { describe, expect, it } from 'vitest';
import { paramFields } from '../src/editor/schema-form.ts';
import { parallelOption, scatterOption, trialTooltip } from '../src/sweeps/charts.ts';
import {
  checkDrafts,
  DEFAULT_SETTINGS,
  type DimensionDraft,
  draftFor,
  gridSize,
  settingsFieldOf,
  sweepableNodes,
  withMode,
} from '../src/sweeps/dimensions.ts';
import { baselineTrialOf, bestTrialOf, formatScore, paramColumns, plannedTrials, type TrialView, whatWentWrong } from '../src/sweeps/view.ts';

const registry = serializeRegistry();
const byType = new Map(registry.map((d) => [d.type, d]));
const graph: PipelineGraph = createDefaultPipeline();
const nodeOf = (type: string) => graph.nodes.find((n) => n.type === type)!;
const fieldOf = (type: string, name: string) => paramFields(byType.get(type)!).find((f) => f.name === name)!;
const nodes = sweepableNodes(
  graph.nodes.map((n) => ({ id: n.id, type: n.type, params: n.params })),
  byType,
);
const draft = (type: string, name: string) => draftFor(nodeOf(type).id, fieldOf(type, name), undefined);

describe('sweep dialog: what can vary', () => {
  it('lists the sweepable nodes, training and head first, with only their number, integer, enum and boolean params', () => {
    expect(nodes.map((n) => n.nodeType)).toEqual(['train', 'head', 'augment', 'backbone', 'freeze']);
    const train = nodes.find((n) => n.nodeType === 'train')!;
    const names = train.fields.map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['learningRate', 'optimizer', 'batchSize', 'epochs', 'earlyStopping']));
    expect(new Set(train.fields.map((f) => f.kind))).toEqual(new Set(['number', 'integer', 'enum', 'boolean']));
    // Free-text params cannot be swept; params hidden by the node's settings are not offered (spatial head: no "hidden").
    expect(nodes.find((n) => n.nodeType === 'backbone')!.fields.map((f) => f.name)).not.toContain('modelPath');
    expect(nodes.find((n) => n.nodeType === 'head')!.fields.map((f) => f.name)).not.toContain('hidden');
  });

  it('proposes a log scale for the learning rate and ranges around the current value within the schema bounds', () => {
    expect(draft('train', 'learningRate')).toMatchObject({ mode: 'log', min: '0.0001', max: '0.01' });
    expect(draft('head', 'dropout')).toMatchObject({ mode: 'range', min: '0.1', max: '0.4' });
    expect(draft('head', 'filters')).toMatchObject({ mode: 'range', min: '64', max: '256' });
    // 0 has no neighbourhood: the schema's whole range.
    expect(draft('augment', 'blur')).toMatchObject({ mode: 'range', min: '0', max: '3' });
    // Clamped: learning rate 0.5 ×10 would pass the schema's maximum of 1.
    expect(draftFor('train', fieldOf('train', 'learningRate'), 0.5)).toMatchObject({ min: '0.05', max: '1' });
    expect(draft('train', 'optimizer')).toMatchObject({ mode: 'list', choices: ['adam', 'sgd'] });
    expect(draft('train', 'earlyStopping')).toMatchObject({ choices: [true, false] });
    // Switching to a list keeps the current value as a first entry.
    expect(withMode(draft('train', 'batchSize'), fieldOf('train', 'batchSize'), 32, 'list')).toMatchObject({ mode: 'list', list: '32' });
  });
});

describe('sweep dialog: the spec and its problems', () => {
  it('builds a spec that checkSweep accepts', () => {
    const drafts = [draft('head', 'dropout'), draft('train', 'learningRate'), draft('train', 'optimizer')];
    const { spec, problems } = checkDrafts(graph, drafts, { ...DEFAULT_SETTINGS, trials: '4' });
    expect(problems).toEqual([]);
    const parsed = sweepSpecSchema.parse(spec);
    expect(parsed.dimensions.map((d) => `${paramKey(d.nodeId, d.param)}:${d.kind}`)).toEqual([
      `${nodeOf('head').id}.dropout:range`,
      `${nodeOf('train').id}.learningRate:log`,
      `${nodeOf('train').id}.optimizer:list`,
    ]);
    expect(parsed).toMatchObject({ strategy: 'random', metric: 'macroF1', budget: { trials: 4 }, parallel: 2, baseline: true });
    expect(checkSweep(graph, spec).ok).toBe(true);
    // "Include the current settings as trial 1" unticked: the spec says so.
    expect(sweepSpecSchema.parse(checkDrafts(graph, drafts, { ...DEFAULT_SETTINGS, baseline: false }).spec).baseline).toBe(false);
  });

  it('names the row of an invalid dimension: min not below max, text that is not a number, nothing picked', () => {
    const lr = { ...draft('train', 'learningRate'), min: '0.01', max: '0.001' };
    const dropout = { ...draft('head', 'dropout'), max: 'lots' };
    const optimizer: DimensionDraft = { ...draft('train', 'optimizer'), choices: [] };
    const { problems } = checkDrafts(graph, [lr, dropout, optimizer], DEFAULT_SETTINGS);
    expect(problems.filter((p) => p.dimension === 0).map((p) => p.message)).toEqual([
      expect.stringMatching(/min \(0\.01\) must be below max \(0\.001\)/),
    ]);
    // Said once, in words (not also as checkSweep's NaN complaint).
    expect(problems.filter((p) => p.dimension === 1).map((p) => p.message)).toEqual([expect.stringMatching(/max “lots” is not a number/)]);
    expect(problems.filter((p) => p.dimension === 2).map((p) => p.message)).toEqual([expect.stringMatching(/pick at least one value/)]);
  });

  it('puts budget problems next to their setting, and asks for a row when nothing varies', () => {
    const { problems } = checkDrafts(graph, [draft('head', 'dropout')], { ...DEFAULT_SETTINGS, trials: '0' });
    expect(problems.map(settingsFieldOf)).toEqual(['trials']);
    expect(checkDrafts(graph, [], DEFAULT_SETTINGS).problems.map((p) => p.message)).toEqual([expect.stringMatching(/at least one parameter/)]);
  });

  it('counts grid combinations', () => {
    const list = { ...draft('train', 'batchSize'), mode: 'list' as const, list: '8, 16, 32' };
    expect(gridSize([draft('train', 'optimizer'), list, { ...draft('head', 'dropout'), steps: '4' }])).toBe(2 * 3 * 4);
  });
});

const spec = sweepSpecSchema.parse({
  dimensions: [
    { nodeId: 'train', param: 'learningRate', kind: 'log', min: 0.0001, max: 0.01 },
    { nodeId: 'head', param: 'pooling', kind: 'list', values: ['avg', 'max'] },
    { nodeId: 'head', param: 'dropout', kind: 'range', min: 0.1, max: 0.4 },
  ],
  budget: { trials: 4 },
}) as SweepSpec;
const trial = (index: number, score: number | null, status: TrialView['status'] = 'succeeded', error: string | null = null): TrialView => ({
  index,
  rung: 0,
  params: { 'train.learningRate': 0.001 * (index + 1), 'head.pooling': index % 2 ? 'max' : 'avg', 'head.dropout': 0.2 },
  runId: `run-${index}`,
  status,
  score,
  reusedFeatures: index > 0,
  durationMs: 1000,
  error,
});

describe('sweep page: the current settings', () => {
  const columns = paramColumns(spec);
  it('names the baseline trial in the charts\' tooltip and picks its longest-trained scored run to compare with', () => {
    const baseline = { ...trial(0, 0.9), baseline: true };
    expect(trialTooltip(baseline, columns, 'macroF1', 1)).toMatch(/^Trial 1 · current settings<br\/>/);
    expect(trialTooltip(trial(1, 0.8), columns, 'macroF1', 1)).toMatch(/^Trial 2 ★ best<br\/>/);
    const promoted = { ...trial(5, 0.95), rung: 1, baseline: true };
    const failedPromotion = { ...trial(7, null, 'failed'), rung: 2, baseline: true };
    expect(baselineTrialOf([baseline, trial(1, 0.8), promoted, failedPromotion])?.index).toBe(5);
    expect(baselineTrialOf([trial(1, 0.8)])).toBeNull();
  });
});

describe('sweep page: charts and table helpers', () => {
  const columns = paramColumns(spec);
  const trials = [trial(0, 0.615), trial(1, 0.8025), trial(2, null, 'failed', 'out of memory'), trial(3, null, 'running')];

  it('draws an axis per varied param (log, category, value) plus the metric, scored trials only, the best on top', () => {
    const option = parallelOption({ trials, columns, metric: 'macroF1', bestIndex: 1 });
    const axes = option.parallelAxis as { type: string; name: string; data?: string[]; inverse?: boolean }[];
    expect(axes.map((a) => [a.name, a.type])).toEqual([
      ['learningRate', 'log'],
      ['pooling', 'category'],
      ['dropout', 'value'],
      ['val macro F1', 'value'],
    ]);
    expect(axes[1]?.data).toEqual(['avg', 'max']);
    expect(axes[3]?.inverse).toBe(false);
    const [all, best] = option.series as { data: { name: string; value: unknown[] }[] }[];
    expect(all?.data.map((d) => d.name)).toEqual(['0', '1']);
    expect(all?.data[1]?.value).toEqual([0.002, 'max', 0.2, 0.8025]);
    expect(best?.data.map((d) => d.name)).toEqual(['1']);
    // Loss is minimised: its axis is flipped so "better" stays on top.
    const loss = parallelOption({ trials, columns, metric: 'valLoss', bestIndex: 0 }).parallelAxis as { inverse?: boolean }[];
    expect(loss[3]?.inverse).toBe(true);
  });

  it('plots the metric against the picked param on an axis of its kind', () => {
    const option = scatterOption({ trials, columns, metric: 'macroF1', bestIndex: 1 }, columns[0]!);
    expect(option.xAxis).toMatchObject({ type: 'log', name: 'learningRate', min: 0.0001, max: 0.01 });
    const [all, best] = option.series as { data: { value: unknown[] }[] }[];
    expect(all?.data.map((d) => d.value)).toEqual([
      [0.001, 0.615],
      [0.002, 0.8025],
    ]);
    expect(best?.data).toHaveLength(1);
    expect(scatterOption({ trials, columns, metric: 'macroF1', bestIndex: 1 }, columns[1]!).xAxis).toMatchObject({ type: 'category', data: ['avg', 'max'] });
  });

  it('finds the best trial, formats scores, counts planned trials and says what went wrong', () => {
    expect(bestTrialOf({ bestTrialIndex: null, trials, metric: 'macroF1' })?.index).toBe(1);
    expect(bestTrialOf({ bestTrialIndex: null, trials, metric: 'valLoss' })?.index).toBe(0);
    expect(bestTrialOf({ bestTrialIndex: 0, trials, metric: 'macroF1' })?.index).toBe(0);
    // Before the server has picked: the driver's rule, ties to the trial that trained more epochs.
    const tied = [{ ...trial(0, 0.8), epochs: 3 }, { ...trial(1, 0.8), epochs: 9 }, { ...trial(2, 0.7), epochs: 30 }];
    expect(bestTrialOf({ bestTrialIndex: null, trials: tied, metric: 'macroF1' })?.index).toBe(1);
    // Evaluate summaries hold fractions; the page shows percent.
    expect(formatScore('macroF1', 0.8025)).toBe('80.3%');
    expect(formatScore('valLoss', 0.123456)).toBe('0.1235');
    expect(formatScore('accuracy', null)).toBe('–');
    expect(plannedTrials({ spec })).toBe(4);
    expect(plannedTrials({ spec: { ...spec, strategy: 'grid', budget: { trials: 100 } } })).toBe(5 * 2 * 5);
    expect(plannedTrials({ spec, trialsPlanned: 3 })).toBe(3);
    const failed = [trial(0, null, 'failed', 'first boom'), trial(1, null, 'failed', 'second boom')];
    expect(whatWentWrong({ status: 'failed', error: null, trials: failed })).toMatch(/All 2 trials failed.*trial 1.*first boom/);
    expect(whatWentWrong({ status: 'succeeded', error: null, trials })).toBeNull();
  });
});
